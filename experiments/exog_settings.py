"""Backtest settings for a study's exogenous drivers: when each becomes known, how it is
forecast at an origin, and which modes are scored beside the primary one (e.g. oracle)."""

from __future__ import annotations

from experiments.config import BacktestConfig
from features.exog import FX_REGRESSOR
from features.known import FX_MONTHLY_LAG_DAYS
from forecast.backtest.exog_modes import DriverSpec, ExogOptions


def study_exog_options(backtest: BacktestConfig) -> ExogOptions:
    """USD/JPY: known the day after its month ends, forecast by a random walk (its last value)."""
    return ExogOptions(
        drivers=(DriverSpec(FX_REGRESSOR, known_lag_days=FX_MONTHLY_LAG_DAYS, model="random_walk"),),
        compare_modes=tuple(backtest.compare_exog_modes),
        # Oracle views cost one extra predict per fold of every driver model; every k-th origin
        # keeps the comparison on the same cutoffs for both modes at 1/k of that cost.
        compare_every=backtest.compare_exog_every,
    )
