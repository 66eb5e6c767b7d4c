"""The MLflow pyfunc model of a mixed-frequency study (logged as models-from-code).

It serves the study's published monthly paths: input ``ds`` (month starts) and optional
``unique_id`` (every target when absent); parameter ``scenario`` (default ``baseline``).
Output: ``scenario, unique_id, ds, kind, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95``
with ``kind`` = published | estimate | forecast, equal to the refresh's projections file.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from experiments.scenarios import UnknownScenarioError
from experiments.studies.monthly.projection import ProjectionRequestError, expand_request

SERVED_COLUMNS = ["scenario", "unique_id", "ds", "kind", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def serve_paths(paths: pd.DataFrame, request: pd.DataFrame, scenario: str | None) -> pd.DataFrame:
    scenario = scenario or "baseline"
    known = sorted(paths["scenario"].unique())
    if scenario not in known:
        raise UnknownScenarioError(f"unknown scenario '{scenario}'; known: {', '.join(known)}")
    table = paths[paths["scenario"] == scenario]
    request = expand_request(request, sorted(table["unique_id"].unique()), "month starts", ProjectionRequestError)
    request["ds"] = request["ds"].dt.to_period("M").dt.to_timestamp()
    out = request[["unique_id", "ds"]].merge(table, on=["unique_id", "ds"], how="left", validate="many_to_one")
    if out["yhat"].isna().any():
        bad = out[out["yhat"].isna()].iloc[0]
        first, last = table["ds"].min(), table["ds"].max()
        raise ProjectionRequestError(
            f"no path for {bad['unique_id']} in {bad['ds']:%Y-%m}; the model serves {first:%Y-%m}..{last:%Y-%m}"
        )
    return out.assign(scenario=scenario)[SERVED_COLUMNS]


class MixedFrequencyPaths(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        paths = pd.read_csv(context.artifacts["paths"], parse_dates=["ds"])
        self.paths = paths

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return serve_paths(self.paths, model_input, (params or {}).get("scenario"))


mlflow.models.set_model(MixedFrequencyPaths())
