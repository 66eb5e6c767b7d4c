"""Annual projections under a scenario: one code path for the refresh and the pyfunc model.

A scenario's driver paths (USD/JPY level and AI-adoption index per year) are resolved once, at
refresh time, and stored with the model, so a registered version answers with exactly the
scenario it was published with. Overlays (e.g. generative-AI subscriptions) are added to the
projections of the targets they name, to the mean and to every interval bound alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.scenarios import Scenario, fx_path
from experiments.studies.monthly.projection import expand_request
from features.ai_adoption import ADOPTION_COLUMN, AdoptionFit, adoption_index
from features.exog import FX_REGRESSOR
from forecast.models.base import BaseForecaster

ANNUAL_FREQ = "YS"
PRED_RENAME = {
    "mean": "yhat",
    "lo_80": "yhat_lo_80",
    "hi_80": "yhat_hi_80",
    "lo_95": "yhat_lo_95",
    "hi_95": "yhat_hi_95",
}
ANNUAL_OUTPUT_COLUMNS = [
    "scenario",
    "unique_id",
    "ds",
    "yhat",
    "yhat_lo_80",
    "yhat_hi_80",
    "yhat_lo_95",
    "yhat_hi_95",
    "usdjpy_assumed",
    "ai_adoption_assumed",
    "overlay",
]


class AnnualRequestError(ValueError):
    """A request the annual model cannot answer (unknown series, a year inside the history or
    beyond the scenario paths)."""


def resolve_paths(
    scenario: Scenario, years: pd.DatetimeIndex, known_fx_monthly: pd.Series, adoption: AdoptionFit
) -> pd.DataFrame:
    """Per year of ``years``: ``usdjpy`` (level) and ``ai_adoption`` (%) under ``scenario``."""
    years = pd.DatetimeIndex(years)
    return pd.DataFrame(
        {
            "usdjpy": fx_path(years, ANNUAL_FREQ, known_fx_monthly, scenario.fx_multiplier).to_numpy(),
            ADOPTION_COLUMN: adoption_index(adoption, years, ANNUAL_FREQ, scenario.adoption).values.to_numpy(),
        },
        index=years,
    )


def paths_to_json(paths: pd.DataFrame) -> dict:
    return {col: {f"{ds:%Y-%m-%d}": float(v) for ds, v in paths[col].items()} for col in paths.columns}


def paths_from_json(data: dict) -> pd.DataFrame:
    frame = pd.DataFrame({col: pd.Series(values) for col, values in data.items()})
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index))
    return frame.sort_index()


def project_target(
    estimator: BaseForecaster, years: pd.DatetimeIndex, paths: pd.DataFrame, scenario: Scenario, target: str
) -> pd.DataFrame:
    """Rows for the requested ``years`` (all after the estimator's cutoff) under ``scenario``."""
    years = pd.DatetimeIndex(years).sort_values()
    if years[0] <= estimator.cutoff_:
        raise AnnualRequestError(
            f"requested year {years[0]:%Y} is not after the last observation {estimator.cutoff_:%Y}"
        )
    full = pd.date_range(estimator.cutoff_, years[-1], freq=ANNUAL_FREQ)[1:]
    off_grid = years.difference(full)
    if len(off_grid):
        raise AnnualRequestError(f"{off_grid[0]:%Y-%m-%d} is not a year start (annual model: ds must be YYYY-01-01)")
    beyond = full.difference(paths.index)
    if len(beyond):
        raise AnnualRequestError(
            f"year {beyond[0]:%Y} is beyond the scenario paths (they end in {paths.index.max():%Y})"
        )
    drivers = paths.loc[full]
    X_future = None
    if estimator.exog_columns_:
        X_future = pd.DataFrame(
            {FX_REGRESSOR: np.log(drivers["usdjpy"]), ADOPTION_COLUMN: drivers[ADOPTION_COLUMN]}, index=full
        )[estimator.exog_columns_]
    pred = estimator.predict(len(full), X_future).rename(columns=PRED_RENAME)
    overlay = scenario.overlay_amounts(full, ANNUAL_FREQ, target)
    for column in PRED_RENAME.values():
        pred[column] = pred[column] + overlay.to_numpy()
    pred["usdjpy_assumed"] = drivers["usdjpy"].to_numpy()
    pred["ai_adoption_assumed"] = drivers[ADOPTION_COLUMN].to_numpy()
    pred["overlay"] = overlay.to_numpy()
    return pred.loc[years]


def project_annual(
    estimators: dict[str, BaseForecaster], request: pd.DataFrame, paths: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """Answer a request frame (``ds`` year starts, optional ``unique_id``) under one scenario."""
    request = expand_request(request, list(estimators), "forecast years (YYYY-01-01)", AnnualRequestError)
    frames = []
    for uid, rows in request.groupby("unique_id", sort=True):
        pred = project_target(estimators[uid], pd.DatetimeIndex(rows["ds"].unique()), paths, scenario, uid)
        frames.append(pred.rename_axis("ds").reset_index().assign(unique_id=uid, scenario=scenario.name))
    out = pd.concat(frames, ignore_index=True)
    return out[ANNUAL_OUTPUT_COLUMNS].sort_values(["unique_id", "ds"]).reset_index(drop=True)
