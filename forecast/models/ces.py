"""Complex exponential smoothing (Svetunkov & Kourentzes) on M4-style seasonally adjusted data.

CES(N) keeps a level ``l`` and an information potential ``c`` smoothed with the complex weight
``a0 + i a1``; with one-step error ``e_t = y_t - l_{t-1}``:

    l_t = l_{t-1} - (1 - a1) c_{t-1} + (a0 - a1) e_t
    c_t = l_{t-1} + (1 - a0) c_{t-1} + (a0 + a1) e_t

Its forecasts move between level-only and trended paths without choosing a trend class, which
makes it a useful combination member next to ETS and Theta. Seasonality is handled as in
``m4_benchmarks`` (the M4 test and classical decomposition), not by CES's own seasonal forms.

``a0, a1`` and the initial ``l, c`` minimise the in-sample sum of squared one-step errors
(Nelder-Mead from statsforecast's starting values a0 = 1.3, a1 = 1, l = the mean of the first ten
values, c = l / 1.1); weights whose transition ``l, c -> l, c`` is not stable once the errors are
substituted (the forecast would depend ever more on the start) are refused. The model is linear
in ``y``, so the one-step forecasts are an order-2 recursive filter of ``y`` plus the decaying
contribution of the initial states: a few numpy calls per trial.
Intervals: exact for a linear model with Gaussian errors, sigma^2 (1 + sum_{j<h} psi_j^2) with
``psi_j`` the weights of past errors in the j-step forecast.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.signal import lfilter, lfiltic

from forecast.models.m4_benchmarks import _SeasonallyAdjusted

_A0_START, _A1_START = 1.3, 1.0
_BOUNDS = ((0.01, 2.0), (0.01, 2.0))


def _matrices(a0: float, a1: float) -> tuple[np.ndarray, np.ndarray]:
    transition = np.array([[1.0, -(1.0 - a1)], [1.0, 1.0 - a0]])
    gain = np.array([a0 - a1, a0 + a1])
    return transition, gain


def one_step_forecasts(y: np.ndarray, a0: float, a1: float, state0: np.ndarray) -> np.ndarray:
    """``l_{t-1}`` for t = 0..n-1 (the one-step forecasts), from the state before ``y[0]``."""
    transition, gain = _matrices(a0, a1)
    d = transition - np.outer(gain, [1.0, 0.0])  # state map once the error is substituted
    denominator = [1.0, -np.trace(d), np.linalg.det(d)]
    numerator = [gain[0], -d[1, 1] * gain[0] + d[0, 1] * gain[1]]
    driven = lfilter(numerator, denominator, y)  # l_t from y alone, for t = 0..n-1
    # Contribution of the initial state: (D^(t+1) state0)[0], an order-2 recursion by
    # Cayley-Hamilton, started from its first two terms.
    first = d @ state0
    second = d @ first
    n = len(y)
    free = np.empty(n)
    free[:2] = first[0], second[0]
    if n > 2:
        free[2:] = lfilter([1.0], denominator, np.zeros(n - 2), zi=lfiltic([1.0], denominator, [second[0], first[0]]))[
            0
        ]
    level = driven + free[:n]
    return np.concatenate([[state0[0]], level[:-1]])


def _stable(a0: float, a1: float) -> bool:
    transition, gain = _matrices(a0, a1)
    d = transition - np.outer(gain, [1.0, 0.0])
    return bool(np.max(np.abs(np.linalg.eigvals(d))) < 1.0)


class CESForecaster(_SeasonallyAdjusted):
    """CES(N) on the seasonally adjusted series (see the module docstring)."""

    def min_train_length(self) -> int:
        return 8

    def _fit_adjusted(self, values: np.ndarray) -> None:
        scale = float(np.mean(np.abs(values))) or 1.0
        # Fitted on y / mean|y|: the weights and the initial states are then of one order.
        y = values / scale

        def objective(x: np.ndarray) -> float:
            if not _stable(x[0], x[1]):
                return np.inf
            e = y - one_step_forecasts(y, x[0], x[1], x[2:])
            value = float(e @ e)
            return value if np.isfinite(value) else np.inf

        level0 = float(np.mean(y[: min(10, len(y))]))
        x0 = np.array([_A0_START, _A1_START, level0, level0 / 1.1])
        bounds = list(_BOUNDS) + [(None, None), (None, None)]
        opt = minimize(
            objective, x0, method="Nelder-Mead", bounds=bounds, options={"maxiter": 2000, "xatol": 1e-6, "fatol": 1e-10}
        )
        x = opt.x if np.isfinite(opt.fun) else x0
        self.a0_, self.a1_ = float(x[0]), float(x[1])
        self.scale_ = scale
        transition, gain = _matrices(self.a0_, self.a1_)
        state = np.array(x[2:], dtype=float)
        errors = np.empty(len(y))
        for t, value in enumerate(y):
            errors[t] = value - state[0]
            state = transition @ state + gain * errors[t]
        self.state_ = state
        self.sigma_ = float(np.sqrt(np.mean(errors**2)))

    def _predict_adjusted(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        transition, gain = _matrices(self.a0_, self.a1_)
        state = self.state_.copy()
        mean, psi = np.empty(horizon), np.empty(horizon)
        impulse = gain.copy()
        for h in range(horizon):
            mean[h] = state[0]
            psi[h] = impulse[0]
            state = transition @ state
            impulse = transition @ impulse
        # psi[j - 1] weighs the error j steps before the forecast; step h sums the first h - 1.
        variance = 1.0 + np.concatenate([[0.0], np.cumsum(psi[:-1] ** 2)])
        return self.scale_ * mean, self.scale_ * self.sigma_ * np.sqrt(variance)
