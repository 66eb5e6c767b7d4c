"""Point and interval accuracy metrics (pure numpy/pandas, no model code).

Conventions shared by every function:

* Inputs are array-likes of equal length (``y`` = realised values, ``yhat`` = forecasts).
* Pairs where either side is NaN are ignored (a realised gap is not an error of size zero);
  a metric with no valid pair is NaN.
* Lower is better for every metric except :func:`coverage`, which should be near its nominal level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd

from forecast.models.base import QUANTILE_OF_COLUMN

ArrayLike: TypeAlias = np.ndarray | pd.Series | list


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


# --- The metrics table ------------------------------------------------------------------------------
# The one place a backtest metric is declared. The engine's metric columns, the leaderboard's
# rankable metrics, the configs' ``metric`` choices, the Diebold-Mariano losses, the MLflow run
# metrics and the HTML leaderboards all read this table when they run, so a new metric is one row.


@dataclass(frozen=True)
class BacktestMetric:
    """How one backtest metric is computed and where it is used.

    ``score`` maps a group of scored backtest points (the engine's forecast columns: ``y, mean``,
    the interval columns, ``cutoff``, ``train_scale``) to the metric. ``pointwise``, when given, is
    the per-point loss whose mean is the metric (or, for RMSE, whose mean's root is): the
    Diebold-Mariano comparison averages it per origin. A metric with ``needs_scale`` divides by each
    fold's training scale (``train_scale``): its score is the mean of ``pointwise`` per fold, then
    over folds (``by_fold``), or over all points. ``direction`` "lower" is a loss, used to rank;
    "nominal" should sit near ``nominal``. ``reported``: a column of the HTML leaderboards;
    ``by_horizon``: also logged per forecast step to MLflow.
    """

    name: str
    description: str
    score: Callable[[pd.DataFrame], float] | None
    pointwise: Callable[[pd.DataFrame], np.ndarray] | None = None
    direction: Literal["lower", "nominal"] = "lower"
    nominal: float | None = None
    needs_scale: bool = False
    reported: bool = True
    by_horizon: bool = False

    def of(self, points: pd.DataFrame, by_fold: bool = True) -> float:
        """The metric over ``points`` (scored backtest rows of one group)."""
        if self.needs_scale:
            assert self.pointwise is not None, f"metric {self.name!r} needs_scale but has no pointwise loss"
            losses = pd.Series(self.pointwise(points), index=points.index)
            return float(losses.groupby(points["cutoff"]).mean().mean() if by_fold else losses.mean())
        assert self.score is not None, f"metric {self.name!r} has no score"
        return self.score(points)


def _arrays(points: pd.DataFrame, *columns: str) -> list[np.ndarray]:
    return [points[c].to_numpy(dtype=float) for c in columns]


def _scaled_abs_error(points: pd.DataFrame) -> np.ndarray:
    y, yhat, scale = _arrays(points, "y", "mean", "train_scale")
    return np.abs(y - yhat) / np.where(scale > 0, scale, np.nan)


def _smape_terms(points: pd.DataFrame) -> np.ndarray:
    y, yhat = _arrays(points, "y", "mean")
    denom = np.abs(y) + np.abs(yhat)
    return np.where(denom == 0, 0.0, 200 * np.abs(y - yhat) / np.where(denom == 0, 1, denom))


def _squared_error(points: pd.DataFrame) -> np.ndarray:
    y, yhat = _arrays(points, "y", "mean")
    return (y - yhat) ** 2


def _abs_error(points: pd.DataFrame) -> np.ndarray:
    y, yhat = _arrays(points, "y", "mean")
    return np.abs(y - yhat)


def _pinball_terms(points: pd.DataFrame) -> np.ndarray:
    y = points["y"].to_numpy(dtype=float)
    losses = []
    for column, tau in QUANTILE_OF_COLUMN.items():
        diff = y - points[column].to_numpy(dtype=float)
        losses.append(np.maximum(tau * diff, (tau - 1) * diff))
    return np.mean(losses, axis=0)


BACKTEST_METRICS: tuple[BacktestMetric, ...] = (
    BacktestMetric(
        "mase",
        "mean absolute error scaled by the fold's in-sample seasonal naive error",
        score=None,
        pointwise=_scaled_abs_error,
        needs_scale=True,
        by_horizon=True,
    ),
    BacktestMetric(
        "smape",
        "symmetric MAPE, 0-200 scale",
        score=lambda p: smape(p["y"], p["mean"]),
        pointwise=_smape_terms,
        by_horizon=True,
    ),
    BacktestMetric(
        "rmse", "root mean squared error, units of y", score=lambda p: rmse(p["y"], p["mean"]), pointwise=_squared_error
    ),
    BacktestMetric(
        "mae",
        "mean absolute error, units of y",
        score=lambda p: mae(p["y"], p["mean"]),
        pointwise=_abs_error,
        reported=False,
    ),
    BacktestMetric(
        "pinball",
        "pinball loss averaged over the five quantiles, units of y",
        score=lambda p: mean_pinball(p["y"], p),
        pointwise=_pinball_terms,
    ),
    BacktestMetric(
        "coverage_80",
        "share of realised values inside the 80% interval",
        score=lambda p: coverage(p["y"], p["lo_80"], p["hi_80"]),
        direction="nominal",
        nominal=0.8,
        by_horizon=True,
    ),
    BacktestMetric(
        "coverage_95",
        "share of realised values inside the 95% interval",
        score=lambda p: coverage(p["y"], p["lo_95"], p["hi_95"]),
        direction="nominal",
        nominal=0.95,
    ),
)


def backtest_metric(name: str) -> BacktestMetric:
    """The row of :data:`BACKTEST_METRICS` called ``name`` (ValueError naming the choices if none)."""
    for metric in BACKTEST_METRICS:
        if metric.name == name:
            return metric
    raise ValueError(f"unknown metric {name!r}; choose one of {', '.join(metric_names())}")


def metric_names() -> list[str]:
    """Every metric of the table, in its order (the engine's metric columns)."""
    return [m.name for m in BACKTEST_METRICS]


def ranking_metrics() -> list[str]:
    """The losses (lower is better): what leaderboards, selections and configs may rank by."""
    return [m.name for m in BACKTEST_METRICS if m.direction == "lower"]


def reported_metrics() -> list[str]:
    return [m.name for m in BACKTEST_METRICS if m.reported]


def by_horizon_metrics() -> list[str]:
    return [m.name for m in BACKTEST_METRICS if m.by_horizon]


def check_ranking_metric(name: str) -> str:
    """``name`` if it is a loss of the table, else ValueError naming the choices (a config validator)."""
    if name not in ranking_metrics():
        raise ValueError(f"cannot rank by {name!r}; choose one of {', '.join(ranking_metrics())}")
    return name
