"""The MLflow pyfunc model a refresh registers (logged as models-from-code).

MLflow copies this file into the model and runs it on load; ``set_model`` at the bottom tells it
which object serves ``predict``. Logging code instead of a pickled instance avoids CloudPickle
capturing the whole refresh process, and keeps what runs at serving time readable.

Input: a frame with ``ds`` (forecast months), optional ``unique_id`` (all series when absent) and
optional ``usdjpy`` (yen per dollar; published values, then the last one carried forward, when
absent). Output: ``unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95``.
"""

from __future__ import annotations

import json

import joblib
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from experiments.projection import project


class DeficitForecastModel(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        self.estimators = joblib.load(context.artifacts["estimators"])
        with open(context.artifacts["meta"], encoding="utf-8") as fh:
            self.meta = json.load(fh)
        fx = pd.read_csv(context.artifacts["usdjpy"], parse_dates=["ds"])
        self.known_usdjpy = fx.set_index("ds")["usdjpy"].asfreq("MS")

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return project(self.estimators, model_input, self.known_usdjpy)


mlflow.models.set_model(DeficitForecastModel())
