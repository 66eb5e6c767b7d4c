"""A small automatic ARIMA on M4-style seasonally adjusted data, fitted by conditional least squares.

statsmodels' SARIMAX costs ~0.2 s per exact-likelihood fit, so a stepwise search (10-20 fits)
would cost seconds per series. This searches the same kind of space more cheaply:

* Seasonality: the M4 test and classical decomposition of ``m4_benchmarks``; the adjusted series
  is modelled and its forecast re-seasonalised (no seasonal ARMA terms).
* Differences ``d`` (0 to 2): KPSS tests at 5% on the series and its differences, as R's
  ``ndiffs``.
* ARMA(p, q), p and q in 0..2, with a constant when d < 2 (the mean, or the drift when d = 1):
  conditional sum of squares (errors before the sample set to zero, the first p differenced
  values conditioned on), by ``scipy.optimize.least_squares``; the residuals are one
  ``lfilter`` call. Fits that are not stationary and invertible are dropped.
* Order chosen by the AICc of the conditional Gaussian likelihood.

Intervals: Gaussian with the variance of the ARIMA's psi weights, sigma^2 sum_{j<h} psi_j^2.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import least_squares
from scipy.signal import lfilter
from statsmodels.tools.sm_exceptions import InterpolationWarning
from statsmodels.tsa.stattools import kpss

from forecast.models.m4_benchmarks import _SeasonallyAdjusted

_MAX_P = _MAX_Q = 2
_MAX_D = 2
_KPSS_ALPHA = 0.05


def n_differences(values: np.ndarray) -> int:
    """How many differences make the series pass the KPSS level-stationarity test."""
    x = values
    for d in range(_MAX_D + 1):
        if d == _MAX_D or len(x) < 8 or np.ptp(x) == 0:
            return d
        with warnings.catch_warnings():
            # p-values beyond the table's range come back clipped, with this warning; the clip
            # still decides the test.
            warnings.simplefilter("ignore", InterpolationWarning)
            p_value = kpss(x, regression="c", nlags="auto", result_object=False)[1]
        if p_value >= _KPSS_ALPHA:
            return d
        x = np.diff(x)
    return _MAX_D


def _roots_outside(coefficients: np.ndarray) -> bool:
    """Whether 1 - c1 z - ... - ck z^k has all roots outside the unit circle."""
    if len(coefficients) == 0 or not np.any(coefficients):
        return True
    roots = np.roots(np.r_[-coefficients[::-1], 1.0])
    return bool(np.all(np.abs(roots) > 1.0 + 1e-3))


class _ArmaFit:
    def __init__(self, w: np.ndarray, p: int, q: int, constant: bool):
        self.p, self.q, self.constant = p, q, constant
        scale = float(np.std(w)) or 1.0

        def residuals(x: np.ndarray) -> np.ndarray:
            return self._errors(w, x)[p:] / scale

        x0 = np.zeros(p + q + int(constant))
        if constant:
            x0[-1] = float(np.mean(w))
        self.params = least_squares(residuals, x0, method="lm" if len(w) - p > len(x0) else "trf").x
        errors = self._errors(w, self.params)
        used = errors[p:]
        self.sigma2 = float(np.mean(used**2))
        n, k = len(used), len(x0) + 1
        self.ok = bool(
            _roots_outside(self.ar) and _roots_outside(-self.ma) and np.isfinite(self.sigma2) and n - k - 1 > 0
        )
        loglik = -0.5 * n * (np.log(2 * np.pi * max(self.sigma2, 1e-300)) + 1)
        self.aicc = -2 * loglik + 2 * k + 2 * k * (k + 1) / (n - k - 1) if self.ok else np.inf
        self.errors = errors

    @property
    def ar(self) -> np.ndarray:
        return self.params[: self.p]

    @property
    def ma(self) -> np.ndarray:
        return self.params[self.p : self.p + self.q]

    @property
    def mean(self) -> float:
        return float(self.params[-1]) if self.constant else 0.0

    def _errors(self, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        ar, ma = x[: self.p], x[self.p : self.p + self.q]
        mean = x[-1] if self.constant else 0.0
        # e_t = theta(B)^-1 phi(B) (w_t - mean), errors before the sample set to zero.
        return lfilter(np.r_[1.0, -ar], np.r_[1.0, ma], w - mean)

    def forecast(self, w: np.ndarray, horizon: int) -> np.ndarray:
        history = list(w - self.mean)
        errors = list(self.errors)
        out = np.empty(horizon)
        for h in range(horizon):
            value = sum(self.ar[i] * history[-1 - i] for i in range(self.p))
            value += sum(self.ma[j] * errors[-1 - j] for j in range(self.q))
            history.append(value)
            errors.append(0.0)
            out[h] = value + self.mean
        return out


class AutoARIMAForecaster(_SeasonallyAdjusted):
    """ARIMA(p, d, q) with the order chosen per series (see the module docstring)."""

    def min_train_length(self) -> int:
        return 10

    def _fit_adjusted(self, values: np.ndarray) -> None:
        self.d_ = n_differences(values)
        self.tail_ = values[-self.d_ :] if self.d_ else values[:0]
        w = np.diff(values, n=self.d_) if self.d_ else values
        self.w_ = w
        best = None
        for p in range(_MAX_P + 1):
            for q in range(_MAX_Q + 1):
                if len(w) - p <= p + q + 3:
                    continue
                fit = _ArmaFit(w, p, q, constant=self.d_ < 2)
                if best is None or fit.aicc < best.aicc:
                    best = fit
        if best is None or not np.isfinite(best.aicc):
            best = _ArmaFit(w, 0, 0, constant=self.d_ < 2)
        self.fit_ = best
        self.order_ = (best.p, self.d_, best.q)

    def _predict_adjusted(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        mean = self.fit_.forecast(self.w_, horizon)
        for level in range(self.d_):
            # Undo one difference: start from the last value of the series one level up.
            last = np.diff(self.tail_, n=self.d_ - 1 - level)[-1]
            mean = last + np.cumsum(mean)
        ar = np.r_[1.0, -self.fit_.ar]
        for _ in range(self.d_):
            ar = np.convolve(ar, [1.0, -1.0])
        impulse = np.zeros(horizon)
        impulse[0] = 1.0
        psi = lfilter(np.r_[1.0, self.fit_.ma], ar, impulse)
        return mean, np.sqrt(self.fit_.sigma2 * np.cumsum(psi**2))
