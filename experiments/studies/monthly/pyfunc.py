"""The MLflow pyfunc model a refresh registers (logged as models-from-code).

MLflow copies this file into the model and runs it on load; ``set_model`` at the bottom tells it
which object serves ``predict``. Logging code instead of a pickled instance avoids CloudPickle
capturing the whole refresh process, and keeps what runs at serving time readable.

Input: a frame with ``ds`` (forecast months), optional ``unique_id`` (all series when absent) and
optional ``usdjpy`` (yen per dollar; published values, then the last one carried forward, when
absent). Parameter ``scenario`` (default ``baseline``): one of the scenarios stored in the
model's metadata (configs/scenarios at publication): its USD/JPY change scales the USD/JPY path
where no ``usdjpy`` is given, its overlays are added; an unknown name is an error listing the
known ones. Output: ``unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95``.
When the study reconciles (``reconcile:``), answers are reconciled exactly as the published file,
whichever subset of the series is requested (experiments/studies/monthly/reconcile.py); versions logged
without ``reconciliation`` in their metadata serve the champions' own figures.
"""

from __future__ import annotations

import json

import joblib
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from experiments.scenarios import pick, served_scenarios
from experiments.studies.monthly.reconcile import serve


class DeficitForecastModel(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        self.estimators = joblib.load(context.artifacts["estimators"])
        with open(context.artifacts["meta"], encoding="utf-8") as fh:
            self.meta = json.load(fh)
        fx = pd.read_csv(context.artifacts["usdjpy"], parse_dates=["ds"])
        self.known_usdjpy = fx.set_index("ds")["usdjpy"].asfreq("MS")
        self.scenarios = served_scenarios(self.meta)

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        scenario = self.scenarios[pick(self.scenarios, (params or {}).get("scenario"))]
        return serve(
            self.estimators,
            model_input,
            self.known_usdjpy,
            scenario,
            self.meta.get("freq", "MS"),
            self.meta.get("reconciliation"),
        )


mlflow.models.set_model(DeficitForecastModel())
