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


class _NewtonFallbackIsHandled(logging.Filter):
    """Prophet retries a failed L-BFGS fit with Newton and logs a warning about it; the retry is
    the fit we keep (warm starts near a boundary trigger it), so the line is noise in a cron log.
    Only that message is dropped: every other Prophet warning still reaches the handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to Newton" not in record.getMessage()


logging.getLogger("prophet.models").addFilter(_NewtonFallbackIsHandled())

from prophet import Prophet  # noqa: E402  (must follow the logger setup above)

from forecast.models.base import BaseForecaster, future_index  # noqa: E402

# Quantile of the predictive samples behind each interval column.
_SAMPLE_QUANTILES: dict[str, float] = {"lo_95": 0.025, "lo_80": 0.10, "hi_80": 0.90, "hi_95": 0.975}


def _stan_init(model: Prophet) -> dict[str, float | np.ndarray]:
    """The fitted MAP parameters of ``model`` in the form Prophet's ``fit(init=...)`` expects."""
    init: dict[str, float | np.ndarray] = {p: float(model.params[p][0][0]) for p in ("k", "m", "sigma_obs")}
    init.update({p: model.params[p][0] for p in ("delta", "beta")})
    return init


class ProphetForecaster(BaseForecaster):
    """Prophet MAP fit; mean = Prophet's point forecast, bounds = quantiles of one predictive sample set.

    Missing periods are simply left out of the fit (Prophet needs no regular grid). Each column of X
    becomes an extra regressor. Weekly and daily seasonality are off: the data are monthly or coarser.
    With ``warm_start`` the optimiser of ``update`` starts from the previous fit's parameters;
    ``warm_fit`` always does.
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

    def min_train_length(self) -> int:
        # Two cycles and a bit before a yearly seasonality is separable from the trend (with exactly
        # two years Prophet warns of under-identification).
        return 2 * self.season_length + 2

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self._fit_prophet(y, X, init=None)

    def _warm_fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self._fit_prophet(y, X, init=_stan_init(self.model_))

    def _update(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self._fit_prophet(y, X, init=_stan_init(self.model_) if self.warm_start else None)

    def _fit_prophet(self, y: pd.Series, X: pd.DataFrame | None, init: dict | None) -> None:
        if self.uncertainty_samples < 1:
            raise ValueError("ProphetForecaster needs uncertainty_samples >= 1 to form intervals")
        model = Prophet(
            # Yearly Fourier terms are constant on annual data, so they are dropped there.
            yearly_seasonality=self.yearly_seasonality if self.season_length > 1 else False,
            weekly_seasonality=False,
            daily_seasonality=False,
            changepoint_prior_scale=self.changepoint_prior_scale,
            uncertainty_samples=self.uncertainty_samples,
        )
        frame = pd.DataFrame({"ds": y.index, "y": y.to_numpy()})
        for column in self.exog_columns_:
            model.add_regressor(column)
            frame[column] = X[column].to_numpy()
        # Prophet picks Newton below 100 rows, which took ~6 s on some 24-26 point series here
        # against ~0.02 s for L-BFGS with the same forecast; if L-BFGS fails Prophet retries Newton.
        fit_kwargs: dict = {"algorithm": "LBFGS"}
        if self.random_state is not None:
            fit_kwargs["seed"] = self.random_state
        if init is not None:
            fit_kwargs["init"] = init
        # Missing periods are left out (copying the frame only when there are any: every fold fits).
        self.model_ = model.fit(frame.dropna(subset=["y"]) if y.isna().any() else frame, **fit_kwargs)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        future = pd.DataFrame({"ds": future_index(self.cutoff_, horizon, self.freq_)})
        for column in self.exog_columns_:
            future[column] = X_future[column].to_numpy()
        with _seeded_global_rng(self.random_state):
            mean = _point_forecast(self.model_, future)
            samples = self.model_.predictive_samples(future)["yhat"]
        bounds = np.quantile(samples, list(_SAMPLE_QUANTILES.values()), axis=1)  # one pass over the samples
        out = {"mean": mean, **dict(zip(_SAMPLE_QUANTILES, bounds))}
        return pd.DataFrame(out)


def _point_forecast(model: Prophet, future: pd.DataFrame) -> np.ndarray:
    """Prophet's ``yhat`` without the interval simulation ``predict`` would also run.

    The bounds come from ``predictive_samples``; letting ``predict`` draw its own sample set as well
    doubled the cost of a forecast (the draws dominate it) for columns that were thrown away.
    """
    samples = model.uncertainty_samples
    model.uncertainty_samples = 0
    try:
        return model.predict(future)["yhat"].to_numpy()
    finally:
        model.uncertainty_samples = samples


@contextmanager
def _seeded_global_rng(seed: int | None) -> Iterator[None]:
    """Seed numpy's global RNG for the block and restore its previous state afterwards.

    Prophet draws its predictive samples from the global RNG and accepts no generator; restoring the
    state leaves every other user of the global RNG undisturbed.
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
