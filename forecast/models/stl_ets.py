"""STL decomposition, then damped ETS on the seasonally adjusted series (statsmodels' STLForecast recipe)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL

from forecast.models.base import BaseForecaster
from forecast.models.ets import ETSForecaster


class STLETSForecaster(BaseForecaster):
    """Robust STL (LOESS seasonal-trend decomposition) takes the seasonal pattern out; a non-seasonal
    ETS forecasts what is left, and the last cycle's seasonal component is carried forward.

    Why beside ETS: ETS re-estimates its seasonal states jointly with level and trend, so a one-off
    jump in the level (a series re-based, a compilation change) bleeds into the seasonal states and
    the trend. Robust STL down-weights such points when it estimates the seasonal pattern, and a
    long ``seasonal`` window (25 cycles of LOESS smoothing by default, odd) keeps that pattern
    stable. On three real BOJ payment/receipt series (36 origins, h = 12) it scored mean MASE 2.066
    against ETS's 2.105 (benchmarks/README.md). Intervals are ETS's on the adjusted series: the
    seasonal part is treated as known, as STLForecast does.
    """

    def __init__(
        self,
        season_length: int = 12,
        seasonal: int = 25,
        robust: bool = True,
        trend: str | None = "add",
        damped_trend: bool = True,
    ):
        self.season_length = season_length
        self.seasonal = seasonal
        self.robust = robust
        self.trend = trend
        self.damped_trend = damped_trend

    def min_train_length(self) -> int:
        # STL needs two full cycles; the adjusted series then needs ETS's own minimum.
        return max(2 * self.season_length + 2, 10)

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        if self.season_length > 1:
            if self.seasonal < 3 or self.seasonal % 2 == 0:
                raise ValueError(f"seasonal must be an odd integer >= 3, got {self.seasonal}")
            season = STL(y, period=self.season_length, seasonal=self.seasonal, robust=self.robust).fit().seasonal
            season = season.to_numpy(dtype=float)
        else:
            season = np.zeros(len(y))
        self.last_cycle_ = season[-max(self.season_length, 1) :]
        adjusted = ETSForecaster(season_length=1, trend=self.trend, damped_trend=self.damped_trend, seasonal=None)
        self.adjusted_model_ = adjusted.fit(y - season)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        # The forecast period after the cutoff sits at the first position of the last cycle.
        seasonal = np.resize(self.last_cycle_, horizon)
        adjusted = self.adjusted_model_.predict(horizon)
        return {column: adjusted[column].to_numpy(dtype=float) + seasonal for column in adjusted.columns}
