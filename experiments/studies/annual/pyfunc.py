"""The MLflow pyfunc model of an annual projection study (logged as models-from-code).

Input: a frame with ``ds`` (year starts, e.g. 2026-01-01) and optional ``unique_id`` (all
series when absent). Parameter ``scenario`` (default ``baseline``): one of the scenarios stored
with the model version; an unknown name raises an error that lists the known ones.
Output: ``scenario, unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95,
usdjpy_assumed, ai_adoption_assumed, overlay`` (億円; intervals are conditional on the scenario).
When the study reconciles (``reconcile:``), answers are reconciled exactly as the published file,
whichever subset of the series is requested (experiments/studies/annual/reconcile.py); versions logged
before reconciliation existed have no ``reconciliation`` artifact and serve the models' own figures.
"""

from __future__ import annotations

import json

import joblib
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from experiments.scenarios import Scenario, pick
from experiments.studies.annual.projection import paths_from_json
from experiments.studies.annual.reconcile import serve


class AnnualScenarioModel(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        self.estimators = joblib.load(context.artifacts["estimators"])
        with open(context.artifacts["scenarios"], encoding="utf-8") as fh:
            stored = json.load(fh)
        self.scenarios = {name: Scenario.model_validate(entry["scenario"]) for name, entry in stored.items()}
        self.paths = {name: paths_from_json(entry["paths"]) for name, entry in stored.items()}
        self.plan = None
        if "reconciliation" in context.artifacts:
            with open(context.artifacts["reconciliation"], encoding="utf-8") as fh:
                self.plan = json.load(fh)

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        name = pick(self.scenarios, (params or {}).get("scenario"))
        return serve(self.estimators, model_input, self.paths[name], self.scenarios[name], self.plan)


mlflow.models.set_model(AnnualScenarioModel())
