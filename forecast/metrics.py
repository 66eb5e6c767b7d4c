"""Point and interval accuracy metrics (pure numpy/pandas, no model code).

Conventions shared by every function:

* Inputs are array-likes of equal length (``y`` = realised values, ``yhat`` = forecasts).
* Pairs where either side is NaN are ignored (a realised gap is not an error of size zero);
  a metric with no valid pair is NaN.
* Lower is better for every metric except :func:`coverage`, which should be near its nominal level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.models.base import QUANTILE_OF_COLUMN

ArrayLike = np.ndarray | pd.Series | list


def _pair(y: ArrayLike, yhat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Float arrays of ``y`` and ``yhat`` restricted to positions where both are finite."""
    y = np.asarray(y, dtype=float)
    yhat = np.asarray(yhat, dtype=float)
    if y.shape != yhat.shape:
        raise ValueError(f"shape mismatch: y {y.shape} vs forecast {yhat.shape}")
    keep = ~(np.isnan(y) | np.isnan(yhat))
    return y[keep], yhat[keep]


def mae(y: ArrayLike, yhat: ArrayLike) -> float:
    """Mean absolute error: ``mean(|y - yhat|)``, in the units of ``y``."""
    y, yhat = _pair(y, yhat)
    return float(np.mean(np.abs(y - yhat))) if y.size else np.nan


def rmse(y: ArrayLike, yhat: ArrayLike) -> float:
    """Root mean squared error: ``sqrt(mean((y - yhat)^2))``, in the units of ``y``."""
    y, yhat = _pair(y, yhat)
    return float(np.sqrt(np.mean((y - yhat) ** 2))) if y.size else np.nan


def smape(y: ArrayLike, yhat: ArrayLike) -> float:
    """Symmetric MAPE on the M-competition 0-200 scale.

    ``mean(200 * |y - yhat| / (|y| + |yhat|))``; a pair with ``y == yhat == 0`` scores 0 (a perfect
    forecast of zero), not 0/0. This is the M3/M4 and Darts scale; sktime and Prophet report the
    same quantity divided by 100 (0-2), utilsforecast divided by 200 (0-1).
    """
    y, yhat = _pair(y, yhat)
    if not y.size:
        return np.nan
    denom = np.abs(y) + np.abs(yhat)
    terms = np.divide(200.0 * np.abs(y - yhat), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(np.mean(terms))


def mase_scale(y_train: ArrayLike, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast on the training series (the MASE denominator).

    ``mean(|y_t - y_{t-m}|)`` over all t where both values are observed, with ``m = season_length``.
    When the series is shorter than ``m + 1`` periods (or its gaps leave no seasonal pair), ``m``
    falls back to 1, the naive forecast. Returns NaN when no pair exists at all.
    """
    y_train = np.asarray(y_train, dtype=float)
    m = int(season_length)
    if m < 1:
        raise ValueError(f"season_length must be >= 1, got {season_length}")
    for lag in (m, 1) if m > 1 else (1,):
        if y_train.size < lag + 1:
            continue
        diffs = np.abs(y_train[lag:] - y_train[:-lag])
        diffs = diffs[~np.isnan(diffs)]
        if diffs.size:
            return float(np.mean(diffs))
    return np.nan


def mase(y: ArrayLike, yhat: ArrayLike, y_train: ArrayLike, season_length: int) -> float:
    """Mean absolute scaled error: ``mae(y, yhat) / mase_scale(y_train, season_length)``.

    Unitless; 1.0 means as accurate out of sample as the seasonal naive forecast was in sample.
    NaN when the scale is zero or undefined (a constant or too short training series).
    """
    scale = mase_scale(y_train, season_length)
    if not np.isfinite(scale) or scale == 0:
        return np.nan
    return mae(y, yhat) / scale


def pinball(y: ArrayLike, q_pred: ArrayLike, tau: float) -> float:
    """Pinball (quantile) loss of the ``tau`` quantile forecast, in the units of ``y``.

    ``mean(max(tau * (y - q), (tau - 1) * (y - q)))``: under-forecasts cost ``tau`` per unit,
    over-forecasts ``1 - tau``. For ``tau = 0.5`` it is half the MAE.
    """
    if not 0.0 < tau < 1.0:
        raise ValueError(f"tau must be in (0, 1), got {tau}")
    y, q = _pair(y, q_pred)
    if not y.size:
        return np.nan
    diff = y - q
    return float(np.mean(np.maximum(tau * diff, (tau - 1.0) * diff)))


def mean_pinball(y: ArrayLike, forecasts: pd.DataFrame) -> float:
    """Pinball loss averaged over the five quantile columns of a forecast frame.

    Each column of :data:`~forecast.models.base.QUANTILE_OF_COLUMN` (``lo_95`` = 2.5%, ``lo_80`` = 10%,
    ``mean`` = 50%, ``hi_80`` = 90%, ``hi_95`` = 97.5%) is scored at its level, then the five losses
    are averaged with equal weight. Units of ``y``.
    """
    return float(np.mean([pinball(y, forecasts[col], tau) for col, tau in QUANTILE_OF_COLUMN.items()]))


def coverage(y: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> float:
    """Share (0-1) of realised values inside their closed interval: ``mean(lo <= y <= hi)``."""
    y = np.asarray(y, dtype=float)
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    keep = ~(np.isnan(y) | np.isnan(lo) | np.isnan(hi))
    if not keep.any():
        return np.nan
    return float(np.mean((lo[keep] <= y[keep]) & (y[keep] <= hi[keep])))
