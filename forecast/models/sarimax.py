"""Seasonal ARIMA with exogenous regressors, via statsmodels' SARIMAX state-space model."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning, EstimationWarning
from statsmodels.tsa.statespace.sarimax import SARIMAX

from forecast.models.base import BaseForecaster, StateSpacePickleMixin, statespace_forecast_frame


class SARIMAXForecaster(StateSpacePickleMixin, BaseForecaster):
    """SARIMAX(order)(seasonal_order, season_length) with every column of X as a regressor.

    The Kalman filter treats NaN observations as missing, so gaps are handled natively.
    ``update`` keeps the estimated parameters when the new series extends the fitted one and
    filters only the new observations, starting from the stored state (``extend``); otherwise it
    refits. Forecasts equal those of ``append(refit=False)``, which re-filters and smooths the
    whole series (~4x the cost of ``extend`` at 250 monthly points).
    ``warm_fit`` re-estimates with the previous parameters as the optimiser's starting values.
    """

    handles_missing = True
    uses_exog = True

    def __init__(
        self,
        order: tuple[int, int, int] = (1, 1, 1),
        seasonal_order: tuple[int, int, int] = (0, 1, 1),
        season_length: int = 12,
    ):
        self.order = order
        self.seasonal_order = seasonal_order
        self.season_length = season_length

    def _is_seasonal(self) -> bool:
        return self.season_length > 1 and any(self.seasonal_order)

    def min_train_length(self) -> int:
        # Differencing consumes d + D*m observations; a few more are needed to estimate anything.
        if self._is_seasonal():
            return 2 * self.season_length + 4
        return sum(self.order) + 5

    def _fit(self, y: pd.Series, X: pd.DataFrame | None, start_params: np.ndarray | pd.Series | None = None) -> None:
        seasonal_order = (*self.seasonal_order, self.season_length) if self._is_seasonal() else (0, 0, 0, 0)
        model = SARIMAX(y, exog=X, order=tuple(self.order), seasonal_order=seasonal_order)
        with warnings.catch_warnings():
            # Short or nearly deterministic series can stop the optimiser at its iteration cap; the
            # estimate is still usable and the backtest scores it, so the warning carries no action.
            warnings.simplefilter("ignore", ConvergenceWarning)
            # On short series (under ~50 monthly points) or some real ones, the Hannan-Rissanen
            # starting values are unavailable or non-invertible and statsmodels starts the MLE from
            # zeros instead; that only changes where the optimiser starts.
            warnings.simplefilter("ignore", EstimationWarning)
            # cov_type="none": the parameter covariance (outer product of numerical scores, ~10% of
            # a fit) is never used here: forecast intervals come from the Kalman filter's variances.
            self.result_ = model.fit(start_params=start_params, disp=False, cov_type="none")
        # No copies: fit/update receive new objects (base.check_y/_check_X) whose data
        # copy-on-write keeps apart from the caller's.
        self.y_, self.X_ = y, X

    def _warm_fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self._fit(y, X, start_params=self.result_.params.to_numpy())

    def _update(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        if not self._extends_training_data(y, X):
            self._fit(y, X)
            return
        n_old = len(self.y_)
        if len(y) > n_old:
            new_exog = None if X is None else X.iloc[n_old:]
            # The result then covers only the new periods; forecasts need only its final state.
            self.result_ = self.result_.extend(y.iloc[n_old:], exog=new_exog)
        self.y_, self.X_ = y, X

    def _extends_training_data(self, y: pd.Series, X: pd.DataFrame | None) -> bool:
        n_old = len(self.y_)
        if len(y) < n_old or not y.iloc[:n_old].equals(self.y_):
            return False
        if X is None or self.X_ is None:
            return X is None and self.X_ is None
        return list(X.columns) == list(self.X_.columns) and X.iloc[:n_old].equals(self.X_)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        return statespace_forecast_frame(self.result_, horizon, X_future)
