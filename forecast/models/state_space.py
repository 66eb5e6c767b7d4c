"""Structural (unobserved-components) trend models, via statsmodels' UnobservedComponents.

Made for short, gappy series such as the annual digital balance (2014-2016, then 2022-2025):
the Kalman filter skips missing years, so a gap widens the uncertainty instead of being filled.
"""

from __future__ import annotations

import warnings

import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.statespace.structural import UnobservedComponents

from forecast.models.base import BaseForecaster, StateSpacePickleMixin, statespace_forecast_frame

# statsmodels' trend specifications offered here, with the fewest observations each needs.
_LEVELS: dict[str, int] = {
    "rwalk": 3,  # random walk: the last level carried forward (a gap-aware naive forecast)
    "rwdrift": 3,  # random walk with drift: the gap-aware drift benchmark
    "lltrend": 5,  # local linear trend: level and slope both stochastic
    "strend": 4,  # smooth trend: stochastic slope, deterministic level
}


class LocalTrendForecaster(StateSpacePickleMixin, BaseForecaster):
    """Unobserved-components trend (``level``) plus, for seasonal data, a fixed seasonal pattern.

    Every column of X enters as a regression term estimated by maximum likelihood. Missing periods
    are skipped by the filter (``handles_missing``). ``update`` refits (fits take milliseconds).
    """

    handles_missing = True
    uses_exog = True

    def __init__(self, level: str = "rwdrift", season_length: int = 12, seasonal: bool = True):
        self.level = level
        self.season_length = season_length
        self.seasonal = seasonal

    def _is_seasonal(self) -> bool:
        return bool(self.seasonal) and self.season_length > 1

    def min_train_length(self) -> int:
        if self.level not in _LEVELS:
            raise ValueError(f"unknown level '{self.level}'; known: {', '.join(_LEVELS)}")
        # A fixed seasonal pattern needs two full seasons to be told apart from the trend.
        return max(_LEVELS[self.level], 2 * self.season_length + 2 if self._is_seasonal() else 0)

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self.min_train_length()  # validates ``level``
        kwargs = {"seasonal": self.season_length, "stochastic_seasonal": False} if self._is_seasonal() else {}
        model = UnobservedComponents(y, exog=X, level=self.level, **kwargs)
        with warnings.catch_warnings():
            # A variance driven to zero on a few points stops the optimiser at its cap; the fit is
            # still the likelihood's best point on that boundary and the backtest scores it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.result_ = model.fit(disp=False)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        return statespace_forecast_frame(self.result_, horizon, X_future)
