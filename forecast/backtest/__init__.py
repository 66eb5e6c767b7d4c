"""Rolling-origin backtests: cutoffs, the leakage-safe engine, honest ensembles and leaderboards."""

from forecast.backtest.engine import BacktestResult, BacktestSettings, cross_validate, score_forecasts
from forecast.backtest.ensemble import (
    add_automatic_choice,
    add_fixed_combination,
    add_selected_ensemble,
    honest_members,
    select_members,
)
from forecast.backtest.leaderboard import best_models, leaderboard
from forecast.backtest.origins import make_cutoffs

__all__ = [
    "BacktestResult",
    "BacktestSettings",
    "add_automatic_choice",
    "add_fixed_combination",
    "add_selected_ensemble",
    "best_models",
    "cross_validate",
    "honest_members",
    "leaderboard",
    "make_cutoffs",
    "score_forecasts",
    "select_members",
]
