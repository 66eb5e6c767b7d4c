"""Generalised Chow-Lin regression: the classic temporal-disaggregation alternative.

The latent months ``x = D b + u`` (``D``: a seasonally shaped constant and trend, ``p_t`` and
``p_t * t``, plus any indicator columns) with an AR(1) residual ``u`` scaled by the seasonal factor; every figure is a window
sum ``C x`` observed with its rounding variance. ``b`` is estimated by GLS, ``rho`` and the
innovation variance by maximum likelihood, and the months are the best linear unbiased
predictions given every figure (as in R's ``tempdisagg``, but with any mix of window lengths in
one aggregation matrix instead of one low frequency). After the last figure the residual decays
at ``rho`` towards the trend line, which is the forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from forecast.temporal.base import MixedFrequencyModel, Posterior
from forecast.temporal.profile import factors_on
from forecast.temporal.windows import aggregation_matrix

_RHO_MAX = 0.999


def _ar1_cov(n: int, rho: float, p: np.ndarray | None = None) -> np.ndarray:
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    V = rho**lags / (1.0 - rho**2)
    # the residual scales with the seasonal factor, so a total's surprise spreads like the season
    return V if p is None else V * np.outer(p, p)


def _ar1_cov_from(lags: np.ndarray, pp: np.ndarray, rho: float) -> np.ndarray:
    """``_ar1_cov`` from a precomputed lag matrix and ``outer(p, p)`` (the likelihood's inner loop)."""
    return np.power(rho, np.arange(len(lags)))[lags] * (pp / (1.0 - rho**2))


class ChowLin(MixedFrequencyModel):
    """GLS regression on a seasonally shaped trend (+ indicators) with an AR(1) residual."""

    def __init__(self, seasonal: bool = True, seasonal_factors: tuple[float, ...] | None = None, trend: bool = True):
        self.seasonal = seasonal
        self.seasonal_factors = seasonal_factors
        self.trend = trend

    def _design(self, grid: pd.DatetimeIndex, Z: np.ndarray | None) -> np.ndarray:
        p = factors_on(grid, self.factors_)
        t = np.arange(len(grid)) / 12.0
        columns = [p, p * t] if self.trend else [p]
        if Z is not None:
            columns.extend((Z / self.z_scale_).T)
        return np.column_stack(columns)

    def _gls(self, rho: float, log_s2: float):
        s2 = np.exp(log_s2)
        V = _ar1_cov_from(self._lags, self._pp, rho)
        CV = self.C_ @ V
        omega = s2 * CV @ self.C_.T + np.diag(self.obs_var_)
        factor = cho_factor(omega)
        CD = self.C_ @ self.D_
        Oi_CD = cho_solve(factor, CD)
        info = CD.T @ Oi_CD
        b = np.linalg.solve(info, Oi_CD.T @ self.y_)
        resid = self.y_ - CD @ b
        return s2, V, CV, factor, info, b, resid

    def _negloglike(self, theta: np.ndarray) -> float:
        rho = _RHO_MAX * np.tanh(theta[0])
        try:
            _, _, _, factor, info, _, resid = self._gls(rho, theta[1])
        except np.linalg.LinAlgError:
            return 1e12
        logdet = 2.0 * np.log(np.diag(factor[0])).sum()
        # restricted likelihood (REML): b is estimated, which the plain likelihood ignores
        sign, logdet_info = np.linalg.slogdet(info)
        return 0.5 * (logdet + resid @ cho_solve(factor, resid) + logdet_info)

    def _fit(self, windows: pd.DataFrame, grid: pd.DatetimeIndex, Z: np.ndarray | None) -> None:
        self.factors_ = self._seasonal_factors(windows)
        self.scale_ = float(np.median(np.abs(windows["value"] / windows["months"]))) or 1.0
        self.z_scale_ = None if Z is None else np.where(np.abs(Z).max(axis=0) > 0, np.abs(Z).max(axis=0), 1.0)
        self.windows_ = windows
        self.n_ = len(grid)
        self.C_ = aggregation_matrix(windows, grid)
        self.y_ = windows["value"].to_numpy() / self.scale_
        self.obs_var_ = (windows["sd"].to_numpy() / self.scale_) ** 2
        self.D_ = self._design(grid, Z)
        self.p_ = factors_on(grid, self.factors_)
        self._lags = np.abs(np.subtract.outer(np.arange(self.n_), np.arange(self.n_)))
        self._pp = np.outer(self.p_, self.p_)
        best = None
        # two starts (moderate and strong persistence): the likelihood in rho can have two modes
        for start in ([0.5, np.log(0.01)], [2.0, np.log(0.01)]):
            res = minimize(
                self._negloglike,
                np.array(start),
                method="Nelder-Mead",
                options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 400},
            )
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None  # the loop above runs at least once
        self.rho_ = float(_RHO_MAX * np.tanh(best.x[0]))
        self.sigma2_ = float(np.exp(best.x[1]))
        *_, self.coef_, _ = self._gls(self.rho_, best.x[1])
        self.loglike_ = -float(best.fun)

    def _posterior(self, grid: pd.DatetimeIndex, Z: np.ndarray | None) -> Posterior:
        n_fit = self.n_
        C = np.zeros((self.C_.shape[0], len(grid)))
        C[:, :n_fit] = self.C_
        D = self._design(grid, Z)
        s2 = self.sigma2_
        V = s2 * _ar1_cov(len(grid), self.rho_, factors_on(grid, self.factors_))
        VC = V @ C.T
        omega = C @ VC + np.diag(self.obs_var_)
        factor = cho_factor(omega)
        CD = C @ D
        info = CD.T @ cho_solve(factor, CD)
        b = np.linalg.solve(info, CD.T @ cho_solve(factor, self.y_))
        gain = cho_solve(factor, VC.T).T  # V C' Omega^-1
        mean = D @ b + gain @ (self.y_ - CD @ b)
        H = D - gain @ CD
        cov = V - gain @ VC.T + H @ np.linalg.solve(info, H.T)
        scale = self.scale_

        def window_var(first: int, months: int) -> float:
            block = cov[first : first + months, first : first + months]
            return float(block.sum()) * scale**2

        return Posterior(grid, mean * scale, window_var)
