"""Side-by-side accuracy of the exogenous modes of a backtest (e.g. forecast vs oracle).

The primary forecasts of a model (what a forecaster could have known) and its compared views
(rows with ``exog_mode`` oracle: realised future drivers, an upper bound no forecaster had) are scored on the
folds both have, so the gap between them is the value of knowing the drivers' future.
"""

from __future__ import annotations

import pandas as pd

from forecast.backtest.engine import BacktestResult, metric_columns, score_forecasts


def exog_board_columns() -> list[str]:
    return ["unique_id", "model", "exog_mode", "upper_bound", *metric_columns(), "publication_lag_days"]


def exog_mode_board(result: BacktestResult, primary_mode: str | None = None) -> pd.DataFrame:
    """Long table: per series and exogenous model, one row per mode (``exog_mode``), scored on the
    cutoffs the modes share. ``upper_bound`` is True for ``oracle`` rows."""
    views = result.exog_views
    if views is None or views.empty:
        return pd.DataFrame(columns=exog_board_columns())
    primary_mode = primary_mode or result.settings.exog_mode
    lag = int(getattr(result.settings, "publication_lag_days", 0))
    rows = []
    for (base, mode), view in views.groupby(["model", "exog_mode"], sort=True):
        for uid, one in view.groupby("unique_id", sort=True):
            primary = result.forecasts[(result.forecasts["unique_id"] == uid) & (result.forecasts["model"] == base)]
            shared = sorted(set(primary["cutoff"]) & set(one["cutoff"]))
            # No primary forecast at any of these origins (e.g. a driver not yet published there):
            # the compared mode is reported on its own folds, the primary mode has no row.
            pairs = ((primary_mode, primary), (mode, one)) if shared else ((mode, one),)
            shared = shared or sorted(set(one["cutoff"]))
            for m, frame in pairs:
                scored = score_forecasts(frame[frame["cutoff"].isin(shared)].assign(model=base))
                if scored.empty:
                    continue
                rows.append(scored.assign(exog_mode=m, upper_bound=(m == "oracle"), publication_lag_days=lag))
    if not rows:
        return pd.DataFrame(columns=exog_board_columns())
    board = pd.concat(rows, ignore_index=True)[exog_board_columns()]
    return board.sort_values(["unique_id", "model", "upper_bound"], kind="stable", ignore_index=True)


def exog_mode_summary(board: pd.DataFrame, metric: str = "mase") -> pd.DataFrame:
    """Wide table per model: mean ``metric`` over series in each mode and their ratio (oracle /
    forecast < 1 means knowing the drivers' future would have helped)."""
    if board.empty:
        return pd.DataFrame(columns=["model", "targets"])
    wide = board.pivot_table(index="model", columns="exog_mode", values=metric, aggfunc="mean")
    wide.columns = [f"{metric}_{c}" for c in wide.columns]
    wide["targets"] = board.groupby("model")["unique_id"].nunique()
    modes = [c for c in board["exog_mode"].unique() if c != "oracle"]
    if modes and f"{metric}_oracle" in wide:
        wide["oracle_ratio"] = wide[f"{metric}_oracle"] / wide[f"{metric}_{modes[0]}"]
    return wide.reset_index()
