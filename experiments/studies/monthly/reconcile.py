"""Monthly projections made to satisfy the study's identities (``reconcile:``; e.g. balance =
receipts - payments = copyright + telecom): one code path for the refresh CSV and the pyfunc model.

The weights are resolved once at refresh time from the champions' one-step-ahead backtest errors
and stored with the model version (``meta["reconciliation"]``), so a served forecast is the
published one. Only months at which every constrained series is projected are reconciled.
``yhat_base`` keeps each champion's own projection beside the reconciled ``yhat``.
"""

from __future__ import annotations

import pandas as pd

from experiments.config import StudyConfig
from experiments.reconcile_plan import BASE_COLUMN, make_plan, plan_parts, reconcile_complete_periods, with_base_column
from experiments.scenarios import Scenario, apply_overlays
from experiments.studies.monthly.projection import _RENAME, ProjectionRequestError, expand_request, project
from forecast.backtest.engine import BacktestResult
from forecast.backtest.reconciled import champion_forecasts, known_errors, reconciliation_gain
from forecast.reconciliation import Identity, constrained_series

__all__ = [
    "BASE_COLUMN",
    "backtest_comparison",
    "identities_of",
    "reconcile_projections",
    "reconciliation_plan",
    "serve",
]


def identities_of(study: StudyConfig) -> list[Identity]:
    return [spec.identity() for spec in study.reconcile.identities] if study.reconcile else []


def reconciliation_plan(study: StudyConfig, result: BacktestResult, champions: dict[str, str]) -> dict | None:
    """Identities and weights (JSON-ready, stored with the model version); None when off. The
    weights use every fold's one-step error: all of them are known when the refresh publishes."""
    if study.reconcile is None:
        return None
    chosen = champion_forecasts(result.forecasts, champions, constrained_series(identities_of(study)))
    return make_plan(study.reconcile, known_errors(chosen, chosen["ds"].max()), study.name)


def backtest_comparison(study: StudyConfig, result: BacktestResult, champions: dict[str, str]) -> pd.DataFrame | None:
    """Backtest MASE per constrained target, base vs each method (leakage-free; see
    forecast/backtest/reconciled.py), and the ``published`` method; None when off."""
    if study.reconcile is None:
        return None
    table = reconciliation_gain(
        result.forecasts, champions, identities_of(study), min_joint_errors=study.reconcile.min_joint_errors
    )
    return table.assign(published=study.reconcile.method)


def reconcile_projections(projections: pd.DataFrame, plan: dict | None) -> pd.DataFrame:
    """``projections`` (``unique_id, ds, yhat`` and bounds) with ``yhat`` and its bounds reconciled
    where every constrained series is projected, and ``yhat_base`` right after ``yhat``."""
    if plan is None:
        return projections
    out = with_base_column(projections)
    reconcile_complete_periods(out, out, plan, _RENAME)
    return out


def serve(
    estimators: dict, request: pd.DataFrame, known_usdjpy: pd.Series, scenario: Scenario, freq: str, plan: dict | None
) -> pd.DataFrame:
    """What the pyfunc model answers: the requested rows, reconciled as published. The other
    constrained series are projected too at the requested months (with the same USD/JPY input),
    so a request for one series gets the figures of the published file."""
    fx = scenario.fx_multiplier
    if plan is None:
        return apply_overlays(project(estimators, request, known_usdjpy, fx_multiplier=fx), scenario, freq)
    series = constrained_series(plan_parts(plan)[0])
    asked = expand_request(request, list(estimators), "forecast months", ProjectionRequestError)
    months = pd.DatetimeIndex(asked.loc[asked["unique_id"].isin(series), "ds"].unique())
    extra = pd.DataFrame(
        [
            {"unique_id": uid, "ds": ds}
            for uid in series
            for ds in months
            if uid in estimators and ds > estimators[uid].cutoff_
        ],
        columns=["unique_id", "ds"],
    )
    if "usdjpy" in asked.columns:
        given = asked.dropna(subset=["usdjpy"]).drop_duplicates("ds").set_index("ds")["usdjpy"]
        extra["usdjpy"] = extra["ds"].map(given)
    full = pd.concat([asked, extra], ignore_index=True).drop_duplicates(["unique_id", "ds"])
    answered = apply_overlays(project(estimators, full, known_usdjpy, fx_multiplier=fx), scenario, freq)
    out = reconcile_projections(answered, plan).drop(columns=BASE_COLUMN)
    wanted = pd.MultiIndex.from_frame(asked[["unique_id", "ds"]])
    return out[pd.MultiIndex.from_frame(out[["unique_id", "ds"]]).isin(wanted)].reset_index(drop=True)
