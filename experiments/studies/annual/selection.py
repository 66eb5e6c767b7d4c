"""Per annual series: how much backtest evidence there is, and the projection model it supports."""

from __future__ import annotations

import pandas as pd

from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.data import AnnualData
from forecast.backtest.engine import BacktestResult


def evidence_table(study: AnnualStudyConfig, data: AnnualData, result: BacktestResult) -> pd.DataFrame:
    """Per series: published years, backtest horizon, scored origins (most of any model)."""
    rows = []
    scored = result.forecasts.dropna(subset=["y"])
    for uid in [*study.targets, *study.supporting_targets]:
        y = data.panel.loc[data.panel["unique_id"] == uid].set_index("ds")["y"]
        one = scored[scored["unique_id"] == uid]
        origins = one.groupby("model")["cutoff"].nunique()
        role = "target" if uid in study.targets else "supporting"
        horizon = study.backtest.horizon if role == "target" else study.backtest.supporting_horizon
        rows.append(
            {
                "unique_id": uid,
                "role": role,
                "first_year": int(y.dropna().index.min().year),
                "last_year": int(y.dropna().index.max().year),
                "published_years": int(y.notna().sum()),
                "missing_years": int(y.isna().sum()),
                "horizon": horizon,
                "scored_origins": int(origins.max()) if len(origins) else 0,
                "scored_points": int(one.groupby("model").size().max()) if len(one) else 0,
            }
        )
    return pd.DataFrame(rows)


def select_models(study: AnnualStudyConfig, board: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Per series: the projection model and why (``backtest`` or ``fallback``)."""
    sel = study.selection
    rows = []
    for ev in evidence.itertuples(index=False):
        ranked = board[
            (board["unique_id"] == ev.unique_id) & board["model"].isin(sel.candidates) & board["comparable"]
        ].sort_values("rank")
        if ev.scored_origins >= sel.min_origins and len(ranked):
            best = ranked.iloc[0]
            rows.append(
                {
                    "unique_id": ev.unique_id,
                    "model": best["model"],
                    "basis": "backtest",
                    "reason": f"best candidate by {study.backtest.metric} on {int(best['n_origins'])} origins",
                }
            )
        else:
            rows.append(
                {
                    "unique_id": ev.unique_id,
                    "model": sel.fallback,
                    "basis": "fallback",
                    "reason": f"{ev.scored_origins} scored origin(s) < {sel.min_origins}: too few to choose by "
                    f"backtest; the structural model chosen a priori",
                }
            )
    return pd.DataFrame(rows)
