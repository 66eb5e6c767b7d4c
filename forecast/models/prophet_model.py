"""Prophet (piecewise-linear trend + Fourier yearly seasonality + regressors), via the prophet package."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

# Before importing prophet: prophet.plot logs an ERROR at import when plotly is absent (plots are
# unused here), and cmdstanpy logs two INFO lines per fit and resets its level on first use, so
# only disabling the loggers keeps them quiet.
logging.getLogger("prophet.plot").disabled = True
logging.getLogger("cmdstanpy").disabled = True

from prophet import Prophet  # noqa: E402  (must follow the logger setup above)

from forecast.models import prophet_fast  # noqa: E402
from forecast.models.base import BaseForecaster, future_index  # noqa: E402

# Quantile of the predictive samples behind each interval column.
_SAMPLE_QUANTILES: dict[str, float] = {"lo_95": 0.025, "lo_80": 0.10, "hi_80": 0.90, "hi_95": 0.975}

_BACKEND = None


def _stan_backend():
    """Prophet's Stan backend, loaded once per process (loading it per fit cost a millisecond, and
    the fits here use only its compiled model, which holds no state between calls)."""
    global _BACKEND
    if _BACKEND is None:
        _BACKEND = Prophet().stan_backend
    return _BACKEND


class ProphetForecaster(BaseForecaster):
    """Prophet MAP fit; mean = Prophet's point forecast, bounds = quantiles of one predictive sample set.

    Missing periods are simply left out of the fit (Prophet needs no regular grid). Each column of X
    becomes an extra regressor. Weekly and daily seasonality are off: the data are monthly or coarser.
    With ``warm_start`` the optimiser of ``update`` starts from the previous fit's parameters;
    ``warm_fit`` always does.

    The model is Prophet's, fitted by Prophet's Stan backend, but the data preparation and the
    forecast arithmetic run in numpy (:mod:`forecast.models.prophet_fast`): the same MAP parameters,
    mean and predictive samples as ``Prophet.fit`` / ``predict`` / ``predictive_samples``, at a
    fraction of the cost of Prophet's pandas pipeline (most of a backtest fold otherwise).
    """

    handles_missing = True
    uses_exog = True

    def __init__(
        self,
        season_length: int = 12,
        yearly_seasonality: bool | int = True,
        uncertainty_samples: int = 500,
        random_state: int | None = 0,
        changepoint_prior_scale: float = 0.05,
        warm_start: bool = False,
    ):
        self.season_length = season_length
        self.yearly_seasonality = yearly_seasonality
        self.uncertainty_samples = uncertainty_samples
        self.random_state = random_state
        self.changepoint_prior_scale = changepoint_prior_scale
        self.warm_start = warm_start

    def __setstate__(self, state: dict) -> None:
        # Forecasters pickled (MLflow champions) before the numpy path kept the fitted Prophet.
        if "model_" in state and "fit_" not in state:
            state = {**state, "fit_": prophet_fast.ProphetFit.from_prophet(state["model_"])}
            del state["model_"]
        super().__setstate__(state)

    def min_train_length(self) -> int:
        # Two cycles and a bit before a yearly seasonality is separable from the trend (with exactly
        # two years Prophet warns of under-identification).
        return 2 * self.season_length + 2

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self._fit_prophet(y, X, init=None)

    def _warm_fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self._fit_prophet(y, X, init=self.fit_.stan_init())

    def _update(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self._fit_prophet(y, X, init=self.fit_.stan_init() if self.warm_start else None)

    def _fit_prophet(self, y: pd.Series, X: pd.DataFrame | None, init: dict | None) -> None:
        if self.uncertainty_samples < 1:
            raise ValueError("ProphetForecaster needs uncertainty_samples >= 1 to form intervals")
        # Prophet picks Newton below 100 rows, which took ~6 s on some 24-26 point series here
        # against ~0.02 s for L-BFGS with the same forecast; if L-BFGS fails Prophet retries Newton.
        exog: np.ndarray | None = None
        if self.exog_columns_:
            assert X is not None  # BaseForecaster passes X whenever the model has exogenous columns
            exog = X[self.exog_columns_].to_numpy(dtype=float)
        self.fit_ = prophet_fast.fit_map(
            y.index,
            y.to_numpy(dtype=float),
            exog,
            self.exog_columns_,
            # Yearly Fourier terms are constant on annual data, so they are dropped there.
            self.yearly_seasonality if self.season_length > 1 else False,
            self.changepoint_prior_scale,
            _stan_backend(),
            init=init,
            algorithm="LBFGS",
            seed=self.random_state,
        )

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        index = future_index(self.cutoff_, horizon, self.freq_)
        exog: np.ndarray | None = None
        if self.exog_columns_:
            assert X_future is not None  # predict() requires it when the model has exogenous columns
            exog = X_future[self.exog_columns_].to_numpy(dtype=float)
        rows = prophet_fast.design(self.fit_, index, exog)
        with _seeded_global_rng(self.random_state):
            mean = prophet_fast.point_forecast(self.fit_, rows)
            samples = prophet_fast.predictive_samples(self.fit_, rows, self.uncertainty_samples)
        bounds = np.quantile(samples, list(_SAMPLE_QUANTILES.values()), axis=1)  # one pass over the samples
        return {"mean": mean, **dict(zip(_SAMPLE_QUANTILES, bounds))}


@contextmanager
def _seeded_global_rng(seed: int | None) -> Iterator[None]:
    """Seed numpy's global RNG for the block and restore its previous state afterwards.

    Prophet's sampler draws from the global RNG (prophet_fast keeps its order of draws so that a
    seed gives Prophet's own samples); restoring the state leaves every other user of it undisturbed.
    """
    if seed is None:
        yield
        return
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)
