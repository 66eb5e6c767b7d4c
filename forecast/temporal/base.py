"""The contract of a mixed-frequency model (scikit-learn estimator rules, like the forecasters).

* ``__init__`` stores hyper-parameters verbatim (``sklearn.base.clone`` works).
* ``fit(windows, X=None)``: ``windows`` are figures as sums over months
  (:mod:`forecast.temporal.windows`); ``X`` optional monthly indicators indexed by month, with a
  value for every month from the first window on. Learned state ends with ``_``.
* ``predict(end, X=None)``: one row per month from the first window's month to ``end``: the
  estimate where figures constrain it, the forecast after the last one, with ``sd`` and the
  80/95% bounds (``lo_95 <= lo_80 <= mean <= hi_80 <= hi_95``).
* ``predict_windows(windows, X=None)``: mean and ``sd`` of sums over windows (annual totals of
  the latent months, with their joint uncertainty, not the sum of monthly sds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import BaseEstimator

from forecast.errors import NotFittedError
from forecast.temporal.profile import seasonal_factors
from forecast.temporal.windows import check_windows, month_grid, window_end

Z80, Z95 = float(norm.ppf(0.90)), float(norm.ppf(0.975))
OUTPUT_COLUMNS = ["mean", "sd", "lo_80", "hi_80", "lo_95", "hi_95"]


@dataclass(frozen=True)
class Posterior:
    """Mean of the latent months on ``grid`` and the variance of sums over consecutive months."""

    grid: pd.DatetimeIndex
    mean: np.ndarray
    window_var: Callable[[int, int], float]  # (first position, months) -> variance of the sum

    def frame(self) -> pd.DataFrame:
        sd = np.sqrt([max(self.window_var(i, 1), 0.0) for i in range(len(self.grid))])
        return interval_frame(self.mean, sd, self.grid)


def interval_frame(mean: np.ndarray, sd: np.ndarray, index) -> pd.DataFrame:
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    return pd.DataFrame(
        {
            "mean": mean,
            "sd": sd,
            "lo_80": mean - Z80 * sd,
            "hi_80": mean + Z80 * sd,
            "lo_95": mean - Z95 * sd,
            "hi_95": mean + Z95 * sd,
        },
        index=index,
    )


class MixedFrequencyModel(BaseEstimator):
    """Base class: input checks and the output contract around ``_fit`` and ``_posterior``.
    Subclasses take the parameters ``seasonal`` and ``seasonal_factors``."""

    def fit(self, windows: pd.DataFrame, X: pd.DataFrame | None = None) -> MixedFrequencyModel:
        windows = check_windows(windows)
        self.start_ = pd.Timestamp(windows["start"].min())
        self.last_ = pd.Timestamp(windows["end"].max())  # last month any figure covers
        self.exog_columns_ = [] if X is None else list(X.columns)
        grid = month_grid(self.start_, self.last_)
        self._fit(windows, grid, self._indicators(X, grid))
        return self

    def predict(self, end, X: pd.DataFrame | None = None) -> pd.DataFrame:
        return self._posterior_to(end, X).frame().loc[: pd.Timestamp(end)]

    def predict_windows(self, windows: pd.DataFrame, X: pd.DataFrame | None = None) -> pd.DataFrame:
        windows = windows.copy()
        ends = window_end(windows)
        post = self._posterior_to(ends.max(), X)
        position = {ts: i for i, ts in enumerate(post.grid)}
        means, sds = [], []
        for start, months in zip(windows["start"], windows["months"]):
            first = position.get(pd.Timestamp(start))
            if first is None:
                raise ValueError(f"window {pd.Timestamp(start):%Y-%m} starts before the model's first month")
            means.append(float(post.mean[first : first + int(months)].sum()))
            sds.append(float(np.sqrt(max(post.window_var(first, int(months)), 0.0))))
        return interval_frame(np.array(means), np.array(sds), windows.index)

    # ---- helpers ------------------------------------------------------------------------------
    def _seasonal_factors(self, windows: pd.DataFrame) -> np.ndarray | None:
        """The factors in use: none when ``seasonal`` is off, the given ``seasonal_factors``, else
        those of the model's own monthly figures when they can support them (else flat)."""
        if not self.seasonal:
            return None
        if self.seasonal_factors is not None:
            f = np.asarray(self.seasonal_factors, dtype=float)
            if f.shape != (12,) or not np.all(f > 0):
                raise ValueError("seasonal_factors must be 12 positive numbers")
            return f / f.mean()
        months = windows[windows["months"] == 1]
        own = pd.Series(months["value"].to_numpy(), index=pd.DatetimeIndex(months["start"]))
        return seasonal_factors(own.asfreq("MS")) if len(own) else None

    def _posterior_to(self, end, X) -> Posterior:
        if not hasattr(self, "start_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        grid = month_grid(self.start_, max(pd.Timestamp(end), self.last_))
        return self._posterior(grid, self._indicators(X, grid))

    def _indicators(self, X: pd.DataFrame | None, grid: pd.DatetimeIndex) -> np.ndarray | None:
        if X is None or not len(X.columns):
            if getattr(self, "exog_columns_", []):
                raise ValueError(f"{type(self).__name__} was fitted with indicators {self.exog_columns_}; pass X")
            return None
        if list(X.columns) != self.exog_columns_:
            raise ValueError(f"X columns {list(X.columns)} differ from the fitted {self.exog_columns_}")
        values = X.reindex(grid)
        if values.isna().any().any():
            gap = values.index[values.isna().any(axis=1)][0]
            raise ValueError(f"indicators lack a value for {gap:%Y-%m} (extend them before calling)")
        return values.to_numpy(dtype=float)

    def _fit(self, windows: pd.DataFrame, grid: pd.DatetimeIndex, Z: np.ndarray | None) -> None:
        raise NotImplementedError

    def _posterior(self, grid: pd.DatetimeIndex, Z: np.ndarray | None) -> Posterior:
        raise NotImplementedError
