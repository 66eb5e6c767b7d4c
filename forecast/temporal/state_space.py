"""A structural monthly model observed through sums over windows (a state-space cumulator).

The latent month ``x_t = p_t * (mu_t + e_t) + z_t' b``: a local linear trend ``mu`` scaled by a
fixed multiplicative seasonal factor ``p_t`` (:mod:`forecast.temporal.profile`), optional
indicator regressors ``z_t`` with coefficients ``b`` (constant states, estimated by the filter),
and an irregular ``e``. The state also carries ``x_{t-1} .. x_{t-W+1}``, so any figure that sums
up to ``W`` consecutive months ending at ``t`` is a linear function of the state at ``t``:
months, calendar and fiscal years, halves and year-to-date sums are all observed in one Kalman
filter, each with its own measurement variance (its rounding), and months without a figure are
simply missing. The three variances are estimated by maximum likelihood (statsmodels
``MLEModel``); the smoother then gives every month's estimate, and after the last figure the
forecast, with their uncertainty.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.statespace.initialization import Initialization
from statsmodels.tsa.statespace.mlemodel import MLEModel

from forecast.temporal.base import MixedFrequencyModel, Posterior
from forecast.temporal.profile import factors_on

MAX_WINDOW = 12
# Initial variance of the unknown states (level, slope, coefficients), in units of the data scale
# squared: a prior sd of about three times a typical month, wide beside any figure. A far larger
# one (1e4) drowned the figures' rounding variance (~1e-8 here) in round-off: smoothed variances
# of published totals came out in the thousands, and some months' came out negative.
_DIFFUSE = 10.0


class _CumulatorModel(MLEModel):
    def __init__(
        self,
        endog: np.ndarray,
        lengths: list[int],
        p: np.ndarray,
        Z: np.ndarray | None,
        obs_var: np.ndarray,
        slope: bool,
    ):
        k_x = 0 if Z is None else Z.shape[1]
        self.lags = MAX_WINDOW - 1
        self.slope = slope
        names = ["level", *(["slope"] if slope else []), "irregular"]
        self.i_mu, self.i_e = 0, (2 if slope else 1)
        self.i_b = self.i_e + 1
        self.i_c = self.i_b + k_x
        k_states = self.i_c + self.lags
        super().__init__(endog, k_states=k_states, k_posdef=len(names))
        self.variance_names = names
        n = endog.shape[0]
        x_row = np.zeros((k_states, n))  # x_t as a function of the state at t
        x_row[self.i_mu] = p
        x_row[self.i_e] = p  # the irregular is proportional too: a total's surprise spreads like the season
        if k_x:
            assert Z is not None  # k_x > 0 only when Z is given
            x_row[self.i_b : self.i_c] = Z.T
        self.x_row = x_row
        design, transition, selection, obs_cov = self._matrices(lengths, obs_var, len(names))
        self["design"] = design
        self["transition"] = transition
        self["selection"] = selection
        self["obs_cov"] = obs_cov
        self.k_x = k_x
        self.ssm.initialize(self._initialization(k_states, k_x, irregular_var=1.0))

    def _matrices(self, lengths: list[int], obs_var: np.ndarray, k_posdef: int) -> tuple[np.ndarray, ...]:
        """Time-varying design (each observed window sums the current month and its lags),
        transition (trend, fixed coefficients, the lag chain), selection and observation variance."""
        x_row, (k_states, n) = self.x_row, self.x_row.shape
        design = np.zeros((len(lengths), k_states, n))
        for j, length in enumerate(lengths):
            design[j] = x_row
            design[j, self.i_c : self.i_c + length - 1] = 1.0
        transition = np.zeros((k_states, k_states, n))
        transition[self.i_mu, self.i_mu] = 1.0
        if self.slope:
            transition[self.i_mu, 1] = 1.0
            transition[1, 1] = 1.0
        for k in range(self.i_b, self.i_c):
            transition[k, k] = 1.0
        transition[self.i_c] = x_row  # c_1 at t+1 = x_t
        for k in range(1, self.lags):
            transition[self.i_c + k, self.i_c + k - 1] = 1.0
        selection = np.zeros((k_states, k_posdef))
        selection[self.i_mu, 0] = 1.0
        if self.slope:
            selection[1, 1] = 1.0
        selection[self.i_e, k_posdef - 1] = 1.0
        obs_cov = np.zeros((len(lengths), len(lengths), n))
        for j in range(len(lengths)):
            obs_cov[j, j] = obs_var[:, j]
        return design, transition, selection, obs_cov

    def _initialization(self, k_states: int, k_x: int, irregular_var: float) -> Initialization:
        # The trend and the coefficients start unknown (a large variance: an exact diffuse start
        # leaves a coefficient free to fit the few totals of a gap exactly, which rebuilt hidden
        # months worse); the lags before the first month are never observed (no window reaches
        # before it), so they start known at zero instead of carrying that variance along. The
        # first month's irregular is drawn like every later month's: its variance is a parameter,
        # so ``update`` sets it.
        init = Initialization(k_states)
        init.set((0, self.i_e), "approximate_diffuse", approximate_diffuse_variance=_DIFFUSE)
        init.set((self.i_e, self.i_b), "known", constant=np.zeros(1), stationary_cov=np.full((1, 1), irregular_var))
        if k_x:
            init.set((self.i_b, self.i_c), "approximate_diffuse", approximate_diffuse_variance=_DIFFUSE)
        init.set(
            (self.i_c, k_states), "known", constant=np.zeros(self.lags), stationary_cov=np.zeros((self.lags, self.lags))
        )
        return init

    @property
    def param_names(self) -> list[str]:
        return [f"sigma2.{name}" for name in self.variance_names]

    @property
    def start_params(self) -> np.ndarray:
        return np.full(len(self.variance_names), 1e-2)

    def transform_params(self, unconstrained):
        return np.asarray(unconstrained) ** 2

    def untransform_params(self, constrained):
        return np.sqrt(np.asarray(constrained))

    def update(self, params, **kwargs):
        params = super().update(params, **kwargs)
        self["state_cov"] = np.diag(params)
        self.ssm.initialize(self._initialization(self.k_states, self.k_x, irregular_var=float(params[-1])))


class StateSpaceCumulator(MixedFrequencyModel):
    """Local linear trend x seasonal factors (+ indicators) observed through window sums.

    ``seasonal_factors``: twelve multiplicative factors to use; ``None`` estimates them from the
    model's own monthly figures when they allow (else flat). ``seasonal=False``: flat.
    ``slope``: a stochastic slope (local linear trend) or a random walk level.
    """

    def __init__(
        self,
        seasonal: bool = True,
        seasonal_factors: tuple[float, ...] | None = None,
        slope: bool = True,
        maxiter: int = 200,
    ):
        self.seasonal = seasonal
        self.seasonal_factors = seasonal_factors
        self.slope = slope
        self.maxiter = maxiter

    def _model(self, grid: pd.DatetimeIndex, Z: np.ndarray | None, windows: pd.DataFrame | None) -> _CumulatorModel:
        lengths = self.lengths_
        endog = np.full((len(grid), len(lengths)), np.nan)
        obs_var = np.ones((len(grid), len(lengths)))
        if windows is not None:
            position = {ts: i for i, ts in enumerate(grid)}
            column = {m: j for j, m in enumerate(lengths)}
            for end, months, value, sd in zip(windows["end"], windows["months"], windows["value"], windows["sd"]):
                t, j = position[pd.Timestamp(end)], column[int(months)]
                endog[t, j] = value / self.scale_
                obs_var[t, j] = (sd / self.scale_) ** 2
        Zs = None if Z is None else Z / self.z_scale_
        return _CumulatorModel(endog, lengths, factors_on(grid, self.factors_), Zs, obs_var, self.slope)

    def _fit(self, windows: pd.DataFrame, grid: pd.DatetimeIndex, Z: np.ndarray | None) -> None:
        if int(windows["months"].max()) > MAX_WINDOW:
            raise ValueError(f"windows longer than {MAX_WINDOW} months are not supported")
        self.factors_ = self._seasonal_factors(windows)
        self.lengths_ = sorted({int(m) for m in windows["months"]})
        self.scale_ = float(np.median(np.abs(windows["value"] / windows["months"]))) or 1.0
        self.z_scale_ = None if Z is None else np.where(np.abs(Z).max(axis=0) > 0, np.abs(Z).max(axis=0), 1.0)
        self.windows_ = windows
        model = self._model(grid, Z, windows)
        with warnings.catch_warnings():
            # a variance driven to zero stops the optimiser on its boundary; the point is still
            # the likelihood's best and the evidence tables score it
            warnings.simplefilter("ignore", ConvergenceWarning)
            # finite-difference scores: the first month's irregular variance reaches the filter
            # through its initialisation, which holds real numbers only (a complex step would be
            # cut off there); the parameters' own covariance is never used
            result = model.fit(disp=False, maxiter=self.maxiter, optim_complex_step=False, cov_type="none")
        self.params_ = np.asarray(result.params)
        self.loglike_ = float(result.llf)

    def _posterior(self, grid: pd.DatetimeIndex, Z: np.ndarray | None) -> Posterior:
        model = self._model(grid, Z, self.windows_)
        result = model.smooth(self.params_, cov_type="none")
        state, cov = result.smoothed_state, result.smoothed_state_cov
        x_row = model.x_row
        mean = np.einsum("kt,kt->t", x_row, state) * self.scale_
        i_c, scale = model.i_c, self.scale_

        def window_var(first: int, months: int) -> float:
            if months > MAX_WINDOW:
                raise ValueError(f"windows longer than {MAX_WINDOW} months are not supported")
            t = first + months - 1
            row = x_row[:, t].copy()
            row[i_c : i_c + months - 1] += 1.0
            return float(row @ cov[:, :, t] @ row) * scale**2

        return Posterior(grid, mean, window_var)
