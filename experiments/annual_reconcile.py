"""Annual projections made to satisfy the study's identities (``reconcile:``; balance = receipts -
payments): one code path for the refresh and the pyfunc model.

At refresh time the weights are resolved once from the selected models' one-year-ahead backtest
errors (:func:`reconciliation_plan`) and stored with the model version, so a served forecast is
the published one. Only the years at which every series of the identities is projected are
reconciled (2024-2025, where the balance is published but its flows are not, stay as projected).
``yhat_base`` keeps each model's own projection beside the reconciled ``yhat``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from experiments.annual_config import AnnualStudyConfig
from experiments.annual_projection import PRED_RENAME, AnnualRequestError, project_annual
from experiments.projection import expand_request
from experiments.scenarios import Scenario
from forecast.backtest.engine import BacktestResult
from forecast.reconciliation import Identity, Weights, constrained_series, reconcile, weights

log = logging.getLogger(__name__)
BASE_COLUMN = "yhat_base"
_TO_MEAN = {v: k for k, v in PRED_RENAME.items()}


def selected_errors(result: BacktestResult, selection: pd.DataFrame) -> pd.DataFrame:
    """One-year-ahead backtest errors (realised - mean) of each series' selected model."""
    chosen = result.forecasts.merge(selection[["unique_id", "model"]], on=["unique_id", "model"])
    scored = chosen[(chosen["h"] == 1) & chosen["y"].notna()]
    return pd.DataFrame({"unique_id": scored["unique_id"].to_numpy(), "ds": scored["ds"].to_numpy(),
                         "error": (scored["y"] - scored["mean"]).to_numpy()})


def reconciliation_plan(study: AnnualStudyConfig, result: BacktestResult, selection: pd.DataFrame) -> dict | None:
    """The identities and resolved weights (JSON-ready, stored with the model); None when off."""
    if study.reconcile is None:
        return None
    identities = [spec.identity() for spec in study.reconcile.identities]
    series = constrained_series(identities)
    w = weights(study.reconcile.method, series, selected_errors(result, selection), study.reconcile.min_joint_errors)
    if w.method != study.reconcile.method:
        log.warning("%s: reconciliation asked for %s, uses %s", study.name, study.reconcile.method, w.method)
    return {
        "method": study.reconcile.method, "method_used": w.method, "series": list(w.series),
        "weights": w.matrix.tolist(),
        "identities": [{"lhs": i.lhs, "plus": list(i.plus), "minus": list(i.minus)} for i in identities],
    }


def _parts(plan: dict) -> tuple[list[Identity], Weights]:
    identities = [Identity(lhs=i["lhs"], plus=tuple(i["plus"]), minus=tuple(i["minus"])) for i in plan["identities"]]
    return identities, Weights(tuple(plan["series"]), np.asarray(plan["weights"], dtype=float), plan["method_used"])


def reconcile_projections(projections: pd.DataFrame, plan: dict | None) -> pd.DataFrame:
    """``projections`` (annual output columns, any scenarios) with ``yhat`` and its bounds
    reconciled where every constrained series is projected, and ``yhat_base`` after ``yhat``."""
    if plan is None:
        return projections
    identities, w = _parts(plan)
    series = constrained_series(identities)
    out = projections.copy()
    out.insert(out.columns.get_loc("yhat") + 1, BASE_COLUMN, out["yhat"])
    columns = list(PRED_RENAME.values())
    for _, rows in out.groupby("scenario", sort=False):
        inside = rows[rows["unique_id"].isin(series)]
        counts = inside.groupby("ds")["unique_id"].nunique()
        complete = inside[inside["ds"].isin(counts.index[counts == len(series)])]
        if complete.empty:
            continue
        done = reconcile(complete[["unique_id", "ds", *columns]].rename(columns=_TO_MEAN), identities, w)
        out.loc[done.index, columns] = done.rename(columns=PRED_RENAME)[columns].to_numpy()
    return out


def serve(estimators: dict, request: pd.DataFrame, paths: pd.DataFrame, scenario: Scenario,
          plan: dict | None) -> pd.DataFrame:
    """What the pyfunc model answers: the requested rows, reconciled as published. The other
    series of the identities are projected too at the requested years they can be (a request for
    payments alone gets the same figures as the published file)."""
    if plan is None:
        return project_annual(estimators, request, paths, scenario)
    series = constrained_series(_parts(plan)[0])
    asked = expand_request(request, list(estimators), "forecast years (YYYY-01-01)", AnnualRequestError)
    asked = asked[["unique_id", "ds"]].drop_duplicates()
    years = pd.DatetimeIndex(asked.loc[asked["unique_id"].isin(series), "ds"].unique())
    extra = pd.DataFrame([{"unique_id": uid, "ds": ds} for uid in series for ds in years
                          if uid in estimators and ds > estimators[uid].cutoff_], columns=["unique_id", "ds"])
    full = pd.concat([asked, extra], ignore_index=True).drop_duplicates()
    out = reconcile_projections(project_annual(estimators, full, paths, scenario), plan).drop(columns=BASE_COLUMN)
    return out.merge(asked, on=["unique_id", "ds"]).reset_index(drop=True)
