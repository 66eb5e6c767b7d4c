"""Exponential smoothing (ETS) state-space model with additive errors, via statsmodels' ETSModel."""

from __future__ import annotations

import warnings

import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from forecast.models.base import LEVELS, BaseForecaster

# Fewest observations for a non-seasonal model: level, trend and damping plus their initial states
# leave too few degrees of freedom below this.
_MIN_NONSEASONAL = 10


class ETSForecaster(BaseForecaster):
    """ETS(A, trend, seasonal) with analytic prediction intervals.

    Only additive components are offered: balances are negative, which multiplicative error or
    seasonality cannot represent. ``update`` keeps the estimated parameters (smoothing weights and
    initial states) and re-runs the filter over the longer series with ``ETSModel.smooth``, which
    is exact; statsmodels' alternative ``fit(start_params=..., maxiter=0)`` still moves parameters
    and raises a ConvergenceWarning.
    """

    def __init__(
        self,
        season_length: int = 12,
        trend: str | None = "add",
        damped_trend: bool = True,
        seasonal: str | None = "add",
        disp: bool = False,
    ):
        self.season_length = season_length
        self.trend = trend
        self.damped_trend = damped_trend
        self.seasonal = seasonal
        self.disp = disp

    def _is_seasonal(self) -> bool:
        return self.seasonal is not None and self.season_length > 1

    def min_train_length(self) -> int:
        # Seasonal initial states need two full seasons to be told apart from level and trend.
        return 2 * self.season_length + 2 if self._is_seasonal() else _MIN_NONSEASONAL

    def _model(self, y: pd.Series) -> ETSModel:
        seasonal = self._is_seasonal()
        return ETSModel(
            y,
            error="add",
            trend=self.trend,
            damped_trend=bool(self.damped_trend) and self.trend is not None,
            seasonal=self.seasonal if seasonal else None,
            seasonal_periods=self.season_length if seasonal else None,
        )

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        with warnings.catch_warnings():
            # The optimiser's iteration cap is sometimes hit on flat likelihoods; the estimate is
            # still usable and the backtest scores it, so the warning carries no action for us.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.result_ = self._model(y).fit(disp=self.disp)
        self.n_train_ = len(y)

    def _update(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self.result_ = self._model(y).smooth(self.result_.params)
        self.n_train_ = len(y)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        start, end = self.n_train_, self.n_train_ + horizon - 1
        prediction = self.result_.get_prediction(start=start, end=end)
        out = {}
        for level in LEVELS:
            frame = prediction.summary_frame(alpha=1 - level / 100)
            out["mean"] = frame["mean"].to_numpy()
            out[f"lo_{level}"] = frame["pi_lower"].to_numpy()
            out[f"hi_{level}"] = frame["pi_upper"].to_numpy()
        return pd.DataFrame(out)
