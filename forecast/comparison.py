"""Is one forecaster really better than another? Diebold-Mariano on backtest losses.

The test works on a loss-differential series ``d_t = loss_a - loss_b``. In a rolling-origin
backtest with step 1 and horizon h, consecutive folds share h-1 target periods, so ``d`` (one value
per origin: the mean over its points) is autocorrelated up to lag h-1; the long-run variance uses
those autocovariances, and Harvey, Leybourne & Newbold (1997) correct the statistic for small
samples and compare it with Student's t on n-1 degrees of freedom.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from forecast.metrics import backtest_metric


@dataclass(frozen=True)
class DMResult:
    statistic: float  # HLN-corrected; negative when the first forecaster has the lower loss
    p_value: float  # one-sided: H1 = the first forecaster has the lower expected loss
    mean_differential: float
    n: int
    max_lag: int


def diebold_mariano(d: np.ndarray, max_lag: int) -> DMResult:
    """One-sided DM test of H0 E[d] = 0 against H1 E[d] < 0, HLN small-sample corrected.

    ``max_lag`` is the autocorrelation allowed in ``d`` (h-1 for h-step forecasts). When the
    autocovariance sum makes the long-run variance non-positive, which happens with few points
    and many lags, the lag-0 variance is used instead (the usual fallback in the literature).
    A differential that is identically zero yields p = 1: there is no evidence either way.
    """
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 2:
        raise ValueError(f"the Diebold-Mariano test needs at least 2 loss differentials, got {n}")
    max_lag = int(min(max(max_lag, 0), n - 1))
    mean = float(d.mean())
    centred = d - mean
    gamma = [float(centred @ centred) / n] + [float(centred[k:] @ centred[:-k]) / n for k in range(1, max_lag + 1)]
    long_run = gamma[0] + 2 * sum(gamma[1:])
    if long_run <= 0:
        long_run = gamma[0]
    if long_run <= 0:
        return DMResult(0.0, 1.0, mean, n, max_lag)
    dm = mean / np.sqrt(long_run / n)
    h = max_lag + 1
    correction = np.sqrt(max(n + 1 - 2 * h + h * (h - 1) / n, 1e-12) / n)
    statistic = float(dm * correction)
    return DMResult(statistic, float(stats.t.cdf(statistic, df=n - 1)), mean, n, max_lag)


def pointwise_loss(forecasts, metric: str) -> np.ndarray:
    """Per-point loss whose average is (or, for RMSE, whose root of the average is) ``metric``.

    ``forecasts`` has the backtest columns ``y, mean, train_scale`` and the interval columns; the
    loss is the metric's ``pointwise`` in :data:`forecast.metrics.BACKTEST_METRICS` (MASE points
    are absolute errors scaled by their fold's training scale).
    """
    loss = backtest_metric(metric).pointwise
    if loss is None:
        raise ValueError(f"no pointwise loss for metric {metric!r}")
    return loss(forecasts)


DM_COLUMNS = ["unique_id", "model", "versus", "mean_differential", "statistic", "p_value", "n_origins"]


def dm_matrix(forecasts: pd.DataFrame, metric: str, horizon: int, step: int = 1) -> pd.DataFrame:
    """Every ordered pair of models of each series, tested on the backtest points they share.

    One row per (series, model, versus): the one-sided Diebold-Mariano p-value of H1 "``model``
    has the lower expected ``metric`` loss than ``versus``", on per-origin mean loss differentials
    (origins ``step`` apart share target periods for ceil(h/step)-1 lags, as the promotion gate
    counts them). Pairs with fewer than two shared origins get NaN. ``forecasts`` has the engine's
    columns (``unique_id, model, cutoff, ds, y, mean, train_scale`` and the intervals).
    """
    overlap = max(math.ceil(int(horizon) / max(int(step), 1)) - 1, 0)
    scored = forecasts[forecasts["y"].notna()].assign(loss=lambda f: pointwise_loss(f, metric))
    per_origin = scored.groupby(["unique_id", "model", "cutoff"])["loss"].mean()
    rows = []
    for uid, series in per_origin.groupby(level="unique_id", sort=True):
        wide = series.droplevel("unique_id").unstack("model")
        for a, b in itertools.permutations(sorted(wide.columns), 2):
            d = (wide[a] - wide[b]).dropna().to_numpy()
            if len(d) < 2:
                rows.append([uid, a, b, np.nan, np.nan, np.nan, len(d)])
                continue
            test = diebold_mariano(d, max_lag=overlap)
            rows.append([uid, a, b, test.mean_differential, test.statistic, test.p_value, test.n])
    return pd.DataFrame(rows, columns=DM_COLUMNS)
