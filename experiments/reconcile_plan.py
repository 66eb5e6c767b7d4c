"""The resolved reconciliation of a study: identities and weights fixed at refresh time, stored with
the model version (JSON) and applied the same way to the published file and to served requests.

Shared by the monthly (experiments/studies/monthly/reconcile.py) and annual (experiments/studies/annual/reconcile.py)
studies; they differ only in where the backtest errors come from and in their output columns.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from experiments.reconcile_config import ReconcileConfig
from forecast.reconciliation import Identity, Weights, constrained_series, reconcile, weights

log = logging.getLogger(__name__)
BASE_COLUMN = "yhat_base"


def make_plan(config: ReconcileConfig, errors: pd.DataFrame, study_name: str) -> dict:
    """Identities and the weights ``config.method`` gives on ``errors`` (``unique_id, ds, error``),
    JSON-ready; a fallback to a simpler method is logged and recorded as ``method_used``."""
    identities = [spec.identity() for spec in config.identities]
    w = weights(config.method, constrained_series(identities), errors, config.min_joint_errors)
    if w.method != config.method:
        log.warning("%s: reconciliation asked for %s, uses %s", study_name, config.method, w.method)
    return {
        "method": config.method,
        "method_used": w.method,
        "series": list(w.series),
        "weights": w.matrix.tolist(),
        "identities": [{"lhs": i.lhs, "plus": list(i.plus), "minus": list(i.minus)} for i in identities],
    }


def plan_parts(plan: dict) -> tuple[list[Identity], Weights]:
    identities = [Identity(lhs=i["lhs"], plus=tuple(i["plus"]), minus=tuple(i["minus"])) for i in plan["identities"]]
    return identities, Weights(tuple(plan["series"]), np.asarray(plan["weights"], dtype=float), plan["method_used"])


def reconcile_complete_periods(out: pd.DataFrame, rows: pd.DataFrame, plan: dict, rename: dict[str, str]) -> None:
    """Reconcile, in place in ``out``, the periods of ``rows`` (a subset of ``out``'s rows) at which
    every constrained series is projected; ``rename`` maps prediction columns to output columns."""
    identities, w = plan_parts(plan)
    series = constrained_series(identities)
    columns = list(rename.values())
    inside = rows[rows["unique_id"].isin(series)]
    counts = inside.groupby("ds")["unique_id"].nunique()
    complete = inside[inside["ds"].isin(counts.index[counts == len(series)])]
    if complete.empty:
        return
    to_mean = {v: k for k, v in rename.items()}
    done = reconcile(complete[["unique_id", "ds", *columns]].rename(columns=to_mean), identities, w)
    out.loc[done.index, columns] = done.rename(columns=rename)[columns].to_numpy()


def with_base_column(projections: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``projections`` with ``yhat_base`` (the models' own projection) after ``yhat``."""
    out = projections.copy()
    out.insert(out.columns.get_loc("yhat") + 1, BASE_COLUMN, out["yhat"])
    return out
