"""The M4 competition's Naive2 and Theta benchmarks, as defined in its ``Benchmarks and Evaluation.R``.

Both forecast a seasonally adjusted series and multiply the forecast by the last season's indices:

* Seasonality test: the lag-m autocorrelation exceeds its 90% limit,
  ``|r_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)``, on series with at least ``3m``
  observations (``m`` = season length). Non-seasonal series are forecast unadjusted.
* Adjustment: classical multiplicative decomposition (centred moving average trend; the mean
  detrended value of each position in the cycle, normalised to mean 1), as R's ``decompose``.
  Balances can be negative, where multiplicative indices mean nothing: series with a value <= 0
  get the additive decomposition instead (an extension; the M3/M4 data are all positive).
* Naive2 = the last adjusted value. Theta = the classic Theta method (Assimakopoulos &
  Nikolopoulos): the mean of the extrapolated least-squares line and of simple exponential
  smoothing on the theta=2 line ``2 y - line``.

Intervals are Gaussian around the adjusted forecast and re-seasonalised: Naive2 uses the random
walk's sigma * sqrt(h); Theta the SES variance sigma^2 (1 + (h - 1) alpha^2) with sigma from its
one-step in-sample errors (an approximation: the M4 code gives Theta no intervals).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import SimpleExpSmoothing
from statsmodels.tsa.stattools import acf

from forecast.models.base import BaseForecaster, normal_intervals

# One-sided 90% critical value of the M4 seasonality test.
_T_CRIT = 1.645


def is_seasonal(values: np.ndarray, m: int) -> bool:
    """The M4 seasonality test (see the module docstring)."""
    n = len(values)
    # A constant series has no autocorrelation (acf would divide by a zero variance).
    if m <= 1 or n < 3 * m or np.ptp(values) == 0:
        return False
    r = acf(values, nlags=m, fft=False)[1:]
    limit = _T_CRIT / np.sqrt(n) * np.sqrt(1 + 2 * np.sum(r[: m - 1] ** 2))
    return bool(np.abs(r[m - 1]) > limit)


def seasonal_indices(values: np.ndarray, m: int, multiplicative: bool) -> np.ndarray:
    """Index of each position in the cycle (position 0 = the first observation), as R's
    ``decompose``: centred moving average of order m (2 x m for even m) as the trend, then the mean
    ratio (difference) to it per position, normalised to mean 1 (0)."""
    weights = np.full(m + 1, 1.0 / m) if m % 2 == 0 else np.full(m, 1.0 / m)
    if m % 2 == 0:
        weights[0] = weights[-1] = 0.5 / m
    trend = np.convolve(values, weights, mode="valid")
    half = len(weights) // 2
    centred = values[half : half + len(trend)]
    detrended = centred / trend if multiplicative else centred - trend
    positions = np.arange(half, half + len(trend)) % m
    figure = np.array([detrended[positions == p].mean() for p in range(m)])
    return figure / figure.mean() if multiplicative else figure - figure.mean()


class _SeasonallyAdjusted(BaseForecaster):
    """Forecast the adjusted series with ``_fit_adjusted`` / ``_predict_adjusted``, re-seasonalise."""

    def __init__(self, season_length: int = 12):
        self.season_length = season_length

    def min_train_length(self) -> int:
        return 3

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        values = y.to_numpy(dtype=float)
        m = int(self.season_length)
        self.multiplicative_ = bool((values > 0).all())
        self.seasonal_ = is_seasonal(values, m)
        if self.seasonal_:
            self.indices_ = seasonal_indices(values, m, self.multiplicative_)
            cycle = self.indices_[np.arange(len(values)) % m]
            adjusted = values / cycle if self.multiplicative_ else values - cycle
        else:
            self.indices_ = np.full(max(m, 1), 1.0 if self.multiplicative_ else 0.0)
            adjusted = values
        self.n_train_ = len(values)
        self._fit_adjusted(adjusted)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        mean, sigma = self._predict_adjusted(horizon)
        bounds = normal_intervals(mean, sigma)
        m = len(self.indices_)
        future_cycle = self.indices_[np.arange(self.n_train_, self.n_train_ + horizon) % m]
        if self.multiplicative_:
            return pd.DataFrame({k: v * future_cycle for k, v in bounds.items()})
        return pd.DataFrame({k: v + future_cycle for k, v in bounds.items()})

    def _fit_adjusted(self, values: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_adjusted(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError


class Naive2Forecaster(_SeasonallyAdjusted):
    """M4 Naive2: the last seasonally adjusted value, re-seasonalised."""

    def _fit_adjusted(self, values: np.ndarray) -> None:
        self.last_ = float(values[-1])
        steps = np.diff(values)
        self.sigma_ = float(np.sqrt(np.mean(steps**2))) if steps.size else 0.0

    def _predict_adjusted(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        h = np.arange(1, horizon + 1)
        return np.full(horizon, self.last_), self.sigma_ * np.sqrt(h)


class ThetaM4Forecaster(_SeasonallyAdjusted):
    """M4 Theta: mean of the linear trend and SES on the theta=2 line, on adjusted data."""

    def _fit_adjusted(self, values: np.ndarray) -> None:
        n = len(values)
        t = np.arange(1, n + 1, dtype=float)
        self.slope_, self.intercept_ = np.polyfit(t, values, 1)
        line = self.intercept_ + self.slope_ * t
        with warnings.catch_warnings():
            # The optimiser's iteration cap on flat SSE surfaces; the estimate is still usable.
            warnings.simplefilter("ignore", ConvergenceWarning)
            ses = SimpleExpSmoothing(2 * values - line, initialization_method="estimated").fit()
        self.alpha_ = float(ses.params["smoothing_level"])
        self.ses_level_ = float(ses.forecast(1)[0])
        # One-step in-sample errors of the combination, for the interval width.
        fitted = 0.5 * ses.fittedvalues + 0.5 * line
        self.sigma_ = float(np.sqrt(np.mean((values - fitted) ** 2)))

    def _predict_adjusted(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        t = np.arange(self.n_train_ + 1, self.n_train_ + horizon + 1, dtype=float)
        mean = 0.5 * self.ses_level_ + 0.5 * (self.intercept_ + self.slope_ * t)
        h = np.arange(1, horizon + 1)
        return mean, self.sigma_ * np.sqrt(1 + (h - 1) * self.alpha_**2)
