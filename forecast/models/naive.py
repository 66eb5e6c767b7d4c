"""Benchmark forecasters: naive (random walk), seasonal naive and random walk with drift.

Point forecasts and interval widths follow Hyndman & Athanasopoulos, *Forecasting: Principles and
Practice* (3rd ed.), section 5.5: sigma is the standard deviation of the one-step residuals and the
h-step standard deviation scales by the method's closed-form factor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.models.base import BaseForecaster, normal_intervals


def _residual_sigma(residuals: np.ndarray, n_params: int = 0) -> float:
    """Root mean square of the residuals, with ``n_params`` estimated parameters taken off the count."""
    residuals = residuals[np.isfinite(residuals)]
    return float(np.sqrt(np.sum(residuals**2) / max(len(residuals) - n_params, 1)))


class NaiveForecaster(BaseForecaster):
    """Random walk: every future value equals the last observation; sigma_h = sigma * sqrt(h)."""

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        values = y.to_numpy(dtype=float)
        self.last_value_ = float(values[-1])
        self.sigma_ = _residual_sigma(np.diff(values))

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        h = np.arange(1, horizon + 1)
        mean = np.full(horizon, self.last_value_)
        return normal_intervals(mean, self.sigma_ * np.sqrt(h))


class SeasonalNaiveForecaster(BaseForecaster):
    """Repeat the last observed season; sigma_h = sigma * sqrt(floor((h - 1) / m) + 1).

    With ``season_length`` 1 this is exactly :class:`NaiveForecaster`.
    """

    def __init__(self, season_length: int = 12):
        self.season_length = season_length

    def min_train_length(self) -> int:
        # One full season to repeat plus one seasonal difference to estimate sigma from.
        return max(self.season_length + 1, super().min_train_length())

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        m = self.season_length
        values = y.to_numpy(dtype=float)
        self.last_season_ = values[-m:].copy()
        self.sigma_ = _residual_sigma(values[m:] - values[:-m])

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        m = self.season_length
        h = np.arange(1, horizon + 1)
        mean = self.last_season_[(h - 1) % m]
        sigma = self.sigma_ * np.sqrt(np.floor((h - 1) / m) + 1)
        return normal_intervals(mean, sigma)


class DriftForecaster(BaseForecaster):
    """Random walk with drift b = (y_T - y_1) / (T - 1); sigma_h = sigma * sqrt(h * (1 + h / T))."""

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        values = y.to_numpy(dtype=float)
        self.n_train_ = len(values)
        self.last_value_ = float(values[-1])
        self.slope_ = float((values[-1] - values[0]) / (len(values) - 1))
        # The slope is estimated from the same differences, hence one parameter off the count.
        self.sigma_ = _residual_sigma(np.diff(values) - self.slope_, n_params=1)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        h = np.arange(1, horizon + 1)
        mean = self.last_value_ + self.slope_ * h
        sigma = self.sigma_ * np.sqrt(h * (1 + h / self.n_train_))
        return normal_intervals(mean, sigma)
