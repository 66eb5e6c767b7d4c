"""Would reconciling the champions' forecasts have helped? Measured on the backtest, leakage-free.

At every cutoff the champions' forecasts of the constrained series are reconciled with weights
estimated from the one-step-ahead errors that were known then: points with ``h == 1`` and
``ds <= cutoff`` (earlier folds whose outcome had been observed). Until every series has such an
error, the weights fall back to OLS (:func:`forecast.reconciliation.weights`). The reconciled
forecasts are scored exactly like the base ones (per-fold MASE, averaged over folds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from forecast.backtest.engine import score_forecasts
from forecast.reconciliation import METHODS, Identity, constrained_series, reconcile, weights


def champion_forecasts(forecasts: pd.DataFrame, champions: Mapping[str, str], series: Sequence[str]) -> pd.DataFrame:
    """The backtest forecasts of each constrained series' champion."""
    missing = [uid for uid in series if uid not in champions]
    if missing:
        raise ValueError(f"no champion for {', '.join(missing)}")
    chosen = pd.DataFrame({"unique_id": list(series), "model": [champions[uid] for uid in series]})
    return forecasts.merge(chosen, on=["unique_id", "model"])


def known_errors(forecasts: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """One-step-ahead errors (realised - mean) whose outcome was observed by ``cutoff``."""
    known = forecasts[(forecasts["h"] == 1) & (forecasts["ds"] <= cutoff) & forecasts["y"].notna()]
    return pd.DataFrame(
        {
            "unique_id": known["unique_id"].to_numpy(),
            "ds": known["ds"].to_numpy(),
            "error": (known["y"] - known["mean"]).to_numpy(),
        }
    )


def reconciled_forecasts(
    forecasts: pd.DataFrame,
    champions: Mapping[str, str],
    identities: Sequence[Identity],
    method: str,
    min_joint_errors: int = 8,
) -> pd.DataFrame:
    """The champions' backtest forecasts of the constrained series, reconciled fold by fold.

    Dates at which some constrained series has no forecast at that cutoff stay as they were.
    Columns are those of ``forecasts`` plus ``weights`` (the method actually used at that cutoff).
    """
    series = constrained_series(identities)
    chosen = champion_forecasts(forecasts, champions, series)
    folds = []
    for cutoff, fold in chosen.groupby("cutoff", sort=True):
        w = weights(method, series, known_errors(chosen, cutoff), min_joint_errors)
        counts = fold.groupby("ds")["unique_id"].nunique()
        complete = fold["ds"].isin(counts.index[counts == len(series)])
        done = reconcile(fold[complete], identities, w) if complete.any() else fold[complete]
        folds.append(pd.concat([done, fold[~complete]]).assign(weights=w.method))
    return pd.concat(folds).sort_values(["unique_id", "cutoff", "ds"]).reset_index(drop=True)


def reconciliation_gain(
    forecasts: pd.DataFrame,
    champions: Mapping[str, str],
    identities: Sequence[Identity],
    methods: Sequence[str] = METHODS,
    min_joint_errors: int = 8,
) -> pd.DataFrame:
    """MASE per constrained series: ``base`` and one column per reconciliation method."""
    series = constrained_series(identities)
    base = champion_forecasts(forecasts, champions, series)
    table = score_forecasts(base, ["unique_id"]).set_index("unique_id")[["mase"]].rename(columns={"mase": "base"})
    for method in methods:
        done = reconciled_forecasts(forecasts, champions, identities, method, min_joint_errors)
        table[method] = score_forecasts(done, ["unique_id"]).set_index("unique_id")["mase"]
    table.insert(0, "model", [champions[uid] for uid in table.index])
    return table.reindex(series).rename_axis("unique_id").reset_index()
