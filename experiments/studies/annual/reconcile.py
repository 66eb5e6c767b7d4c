"""Annual projections made to satisfy the study's identities (``reconcile:``; balance = receipts -
payments): one code path for the refresh and the pyfunc model.

At refresh time the weights are resolved once from the selected models' one-year-ahead backtest
errors (:func:`reconciliation_plan`) and stored with the model version, so a served forecast is
the published one. Only the years at which every series of the identities is projected are
reconciled (2024-2025, where the balance is published but its flows are not, stay as projected).
``yhat_base`` keeps each model's own projection beside the reconciled ``yhat``.
"""

from __future__ import annotations

import pandas as pd

from experiments.reconcile_plan import BASE_COLUMN, make_plan, plan_parts, reconcile_complete_periods, with_base_column
from experiments.scenarios import Scenario
from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.projection import PRED_RENAME, AnnualRequestError, project_annual
from experiments.studies.monthly.projection import expand_request
from forecast.backtest.engine import BacktestResult
from forecast.reconciliation import constrained_series

__all__ = ["BASE_COLUMN", "reconcile_projections", "reconciliation_plan", "selected_errors", "serve"]


def selected_errors(result: BacktestResult, selection: pd.DataFrame) -> pd.DataFrame:
    """One-year-ahead backtest errors (realised - mean) of each series' selected model."""
    chosen = result.forecasts.merge(selection[["unique_id", "model"]], on=["unique_id", "model"])
    scored = chosen[(chosen["h"] == 1) & chosen["y"].notna()]
    return pd.DataFrame(
        {
            "unique_id": scored["unique_id"].to_numpy(),
            "ds": scored["ds"].to_numpy(),
            "error": (scored["y"] - scored["mean"]).to_numpy(),
        }
    )


def reconciliation_plan(study: AnnualStudyConfig, result: BacktestResult, selection: pd.DataFrame) -> dict | None:
    """The identities and resolved weights (JSON-ready, stored with the model); None when off."""
    if study.reconcile is None:
        return None
    return make_plan(study.reconcile, selected_errors(result, selection), study.name)


def reconcile_projections(projections: pd.DataFrame, plan: dict | None) -> pd.DataFrame:
    """``projections`` (annual output columns, any scenarios) with ``yhat`` and its bounds
    reconciled where every constrained series is projected, and ``yhat_base`` after ``yhat``."""
    if plan is None:
        return projections
    out = with_base_column(projections)
    for _, rows in out.groupby("scenario", sort=False):
        reconcile_complete_periods(out, rows, plan, PRED_RENAME)
    return out


def serve(
    estimators: dict, request: pd.DataFrame, paths: pd.DataFrame, scenario: Scenario, plan: dict | None
) -> pd.DataFrame:
    """What the pyfunc model answers: the requested rows, reconciled as published. The other
    series of the identities are projected too at the requested years they can be (a request for
    payments alone gets the same figures as the published file)."""
    if plan is None:
        return project_annual(estimators, request, paths, scenario)
    series = constrained_series(plan_parts(plan)[0])
    asked = expand_request(request, list(estimators), "forecast years (YYYY-01-01)", AnnualRequestError)
    asked = asked[["unique_id", "ds"]].drop_duplicates()
    years = pd.DatetimeIndex(asked.loc[asked["unique_id"].isin(series), "ds"].unique())
    extra = pd.DataFrame(
        [
            {"unique_id": uid, "ds": ds}
            for uid in series
            for ds in years
            if uid in estimators and ds > estimators[uid].cutoff_
        ],
        columns=["unique_id", "ds"],
    )
    full = pd.concat([asked, extra], ignore_index=True).drop_duplicates()
    out = reconcile_projections(project_annual(estimators, full, paths, scenario), plan).drop(columns=BASE_COLUMN)
    return out.merge(asked, on=["unique_id", "ds"]).reset_index(drop=True)
