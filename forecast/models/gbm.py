"""Gradient-boosted trees on lagged seasonal differences, forecast recursively, with split-conformal
intervals."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import ThreadpoolController

from features.builders import calendar_matrix, lag_matrix
from forecast.errors import ModelNotApplicable
from forecast.models.base import LEVELS, BaseForecaster, future_index
from forecast.models.conformal import conformal_quantile

# HistGradientBoostingRegressor's default min_samples_leaf: with fewer training rows than this no
# tree can split, so the calibration fit needs at least this many beyond its lag window.
_MIN_LEAF = 20


class GradientBoostingForecaster(BaseForecaster):
    """HistGradientBoosting on the ``difference_lag``-period difference of y, iterated one step at a
    time.

    The target is a difference (then added back onto the level ``difference_lag`` periods earlier)
    because trees predict only values seen in training: on levels they cannot extrapolate a trend,
    on differences a trend is just a typical step size. The default lag is the season
    (``y_t - y_{t-12}`` for monthly data): the season is then carried by the level a year back, and
    the trees only model how this year differs from the last. On the default monthly study's five
    long targets that lowered the backtest MASE from 2.755 (first differences, lag 1) to 2.286 at
    the same boosting budget (benchmarks/gbm_budget.py). Features at target period t: the previous
    ``n_lags`` differences, Fourier calendar terms, and the exogenous columns of X at t.

    Intervals are split-conformal: a copy fitted on all but the last ``calibration_window`` periods
    forecasts from every origin inside that window; the absolute h-step errors give, per horizon,
    the finite-sample quantile at rank ceil((n + 1) * level) (capped at the largest error). The
    point model is then refitted on the full series. NaN targets are dropped from training and NaN
    lags are left to the trees, so gaps are allowed, except where a forecast needs the level
    ``difference_lag`` periods back and that period is missing (the model is then not applicable).
    """

    handles_missing = True
    uses_exog = True

    def __init__(
        self,
        season_length: int = 12,
        n_lags: int = 12,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        random_state: int | None = 0,
        calibration_window: int = 24,
        difference_lag: int | None = None,
    ):
        self.season_length = season_length
        self.n_lags = n_lags
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.calibration_window = calibration_window
        self.difference_lag = difference_lag

    def _lag(self) -> int:
        """The differencing lag: ``difference_lag``, or the season when it is ``None``."""
        return int(self.season_length if self.difference_lag is None else self.difference_lag)

    def min_train_length(self) -> int:
        return self.calibration_window + self.n_lags + self._lag() + _MIN_LEAF

    # ---- fitting -------------------------------------------------------------------------------
    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        with _single_openmp_thread():
            self._fit_single_threaded(y, X)

    def _fit_single_threaded(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        if self._lag() < 1:
            raise ValueError(f"difference_lag must be at least 1, got {self._lag()}")
        self.y_ = y.to_numpy(dtype=float, copy=True)
        self.diffs_ = _differences(self.y_, self._lag())
        self.side_features_ = self._side_features(y.index, X)
        # Arrays, not frames (features.builders.target_lags/calendar_terms give the same values):
        # this runs at every backtest fold.
        lags = lag_matrix(self.diffs_, range(1, self.n_lags + 1))
        features = np.column_stack([lags, self.side_features_])

        split = len(y) - self.calibration_window
        calibration_model = self._fit_regressor(features[:split], self.diffs_[:split])
        self.interval_halfwidths_ = self._conformal_halfwidths(calibration_model, split)
        self.regressor_ = self._fit_regressor(features, self.diffs_)

    def _side_features(self, index: pd.DatetimeIndex, X: pd.DataFrame | None) -> np.ndarray:
        """Calendar terms and exogenous columns at each period of ``index`` (everything but the lags)."""
        calendar = calendar_matrix(index, self.season_length)
        if X is None:
            return calendar
        # The base class aligns X (and X_future) to exactly these periods.
        return np.column_stack([calendar, X.to_numpy(dtype=float)])

    def _fit_regressor(self, features: np.ndarray, target: np.ndarray) -> HistGradientBoostingRegressor:
        observed = np.isfinite(target)
        regressor = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            early_stopping=False,  # no validation split: all rows train, and fits stay reproducible
            random_state=self.random_state,
        )
        return regressor.fit(features[observed], target[observed])

    def _conformal_halfwidths(self, model: HistGradientBoostingRegressor, split: int) -> dict[int, np.ndarray]:
        """Per level, the conformal half-width for horizons 1..calibration_window."""
        n = len(self.y_)
        origins = np.array([o for o in range(split - 1, n - 1) if np.isfinite(self.y_[o])])
        if len(origins) == 0:
            raise ModelNotApplicable("no observed origin in the conformal calibration window")
        steps = n - 1 - origins.min()
        paths = _recursive_levels(
            model, self.diffs_, self.side_features_, self.y_, origins, steps, self.n_lags, self._lag()
        )

        errors_by_horizon: list[list[float]] = [[] for _ in range(steps)]
        for row, origin in enumerate(origins):
            for h in range(1, n - origin):
                actual = self.y_[origin + h]
                if np.isfinite(actual) and np.isfinite(paths[row, h - 1]):
                    errors_by_horizon[h - 1].append(abs(actual - paths[row, h - 1]))
        if not any(errors_by_horizon):
            raise ModelNotApplicable("no observed values in the conformal calibration window")

        halfwidths = {}
        for level in LEVELS:
            q = np.array([conformal_quantile(np.array(e), level / 100) for e in errors_by_horizon])
            # Horizons without errors borrow their neighbours'; the running maximum then keeps widths
            # non-decreasing, because recursive errors accumulate with h and the few errors at long
            # horizons would otherwise make the widths jump around.
            q = pd.Series(q).ffill().bfill().cummax().to_numpy()
            halfwidths[level] = q
        return halfwidths

    # ---- forecasting ---------------------------------------------------------------------------
    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        with _single_openmp_thread():
            return self._predict_single_threaded(horizon, X_future)

    def _predict_single_threaded(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        n = len(self.y_)
        anchor = int(np.flatnonzero(np.isfinite(self.y_))[-1])
        # Periods missing at the end of the training series are forecast on the way to the horizon.
        gap = n - 1 - anchor
        future_side = self._side_features(future_index(self.cutoff_, horizon, self.freq_), X_future)
        side = np.vstack([self.side_features_, future_side])
        diffs = np.concatenate([self.diffs_, np.full(horizon, np.nan)])
        levels = np.concatenate([self.y_, np.full(horizon, np.nan)])
        path = _recursive_levels(
            self.regressor_, diffs, side, levels, np.array([anchor]), gap + horizon, self.n_lags, self._lag()
        )[0, gap:]
        if not np.isfinite(path).all():
            raise ModelNotApplicable(
                f"a forecast needs the value {self._lag()} periods before it, and that period is missing"
            )

        out = {"mean": path}
        steps_from_anchor = np.arange(gap + 1, gap + horizon + 1)
        for level, halfwidth in self.interval_halfwidths_.items():
            # Beyond the calibrated horizons the widest calibrated half-width is reused.
            q = halfwidth[np.minimum(steps_from_anchor, len(halfwidth)) - 1]
            out[f"lo_{level}"] = path - q
            out[f"hi_{level}"] = path + q
        return out


# (number of imported modules, controller): finding the thread pools scans the process's memory
# map (~3-6 ms, twice per backtest fold: fit and predict); pools arrive with imports, so the scan
# is redone only when the module count has changed (as forecast.backtest.executors does).
_controller: tuple[int, ThreadpoolController] | None = None


def _single_openmp_thread() -> AbstractContextManager:
    """One OpenMP thread for the trees: a few hundred rows gain nothing from threads, and OpenMP
    spin-waiting on this 2-core machine made a fit take 1-7 s instead of 0.07 s."""
    global _controller
    if _controller is None or _controller[0] != len(sys.modules):
        _controller = (len(sys.modules), ThreadpoolController())
    return _controller[1].limit(limits=1, user_api="openmp")


def _differences(y: np.ndarray, lag: int) -> np.ndarray:
    """``y_t - y_{t-lag}`` (NaN for the first ``lag`` periods and wherever either value is missing)."""
    out = np.full(len(y), np.nan)
    out[lag:] = y[lag:] - y[:-lag]
    return out


def _recursive_levels(
    model: HistGradientBoostingRegressor,
    diffs: np.ndarray,
    side: np.ndarray,
    levels: np.ndarray,
    origins: np.ndarray,
    steps: int,
    n_lags: int,
    lag: int,
) -> np.ndarray:
    """Level paths (origins x steps) forecast recursively from each origin at once.

    ``levels`` and ``diffs`` (``levels`` differenced at ``lag``) run over the same periods. Each row
    works on its own copies; at step s the position origin + s gets the model's difference and the
    level that difference implies, so the lags and levels read at later steps are the actual
    history up to the origin followed by that row's own predictions, never values after the
    origin. Rows whose position would pass the end stop (their remaining entries stay NaN), as do
    levels whose period ``lag`` back is missing.
    """
    rows = np.arange(len(origins))
    positions_all = np.arange(len(diffs))
    after = positions_all[None, :] > origins[:, None]
    work = np.where(after, np.nan, np.tile(diffs, (len(origins), 1)))
    level = np.where(after, np.nan, np.tile(levels, (len(origins), 1)))
    lag_offsets = np.arange(1, n_lags + 1)
    paths = np.full((len(origins), steps), np.nan)
    for s in range(1, steps + 1):
        positions = origins + s
        active = positions < len(diffs)
        if not active.any():
            break
        r, p = rows[active], positions[active]
        lag_positions = p[:, None] - lag_offsets[None, :]
        lags = np.where(lag_positions >= 0, work[r[:, None], np.maximum(lag_positions, 0)], np.nan)
        predicted = model.predict(np.column_stack([lags, side[p]]))
        work[r, p] = predicted
        level[r, p] = np.where(p >= lag, level[r, np.maximum(p - lag, 0)], np.nan) + predicted
        paths[r, s - 1] = level[r, p]
    return paths
