"""The forecaster contract every model follows (scikit-learn estimator rules, sktime-style split).

Public methods (``fit``, ``predict``, ``update``) validate inputs and enforce the output contract;
subclasses implement only the private hooks ``_fit``, ``_predict`` and optionally ``_update``.

* ``__init__`` stores hyper-parameters verbatim and nothing else (so ``sklearn.base.clone`` works).
* ``fit(y, X=None)``: ``y`` is a float ``pd.Series`` on a regular ``DatetimeIndex`` with ``freq``
  set (``MS``, ``QS-JAN`` or ``YS-JAN``); NaN marks a missing period. ``X`` is an optional frame of
  exogenous regressors on the same index. Learned state ends with ``_``.
* ``predict(horizon, X_future=None)`` returns a frame indexed by the ``horizon`` periods after the
  last training period with the columns :data:`PREDICTION_COLUMNS`, ordered
  ``lo_95 <= lo_80 <= mean <= hi_80 <= hi_95``.
* ``update(y, X=None)``: ``y`` extends the training series (same start, later end); the model
  absorbs the new observations, keeping its estimated parameters where it can (used by
  refit-every-k backtests). The default refits from scratch.
* ``warm_fit(y, X=None)``: a full re-estimation like ``fit``, but the optimiser starts from the
  current fit's parameters (used at the refit origins of warm-started backtests, where the new
  series is the old one plus a few periods). Answers differ from a cold fit only within the
  optimiser's tolerance. The default, and any model without a warm start, fits cold.
"""

from __future__ import annotations

import copy
from functools import cache, lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from forecast.errors import ModelNotApplicable, NotFittedError

LEVELS: tuple[int, ...] = (80, 95)
PREDICTION_COLUMNS: list[str] = ["mean", "lo_80", "hi_80", "lo_95", "hi_95"]
# Quantile level of each interval bound, for pinball loss.
QUANTILE_OF_COLUMN: dict[str, float] = {"lo_95": 0.025, "lo_80": 0.10, "mean": 0.5, "hi_80": 0.90, "hi_95": 0.975}
# Built once: an index of strings made from a list costs ~25 us (pyarrow strings), at every forecast.
_PREDICTION_INDEX = pd.Index(PREDICTION_COLUMNS)


def future_index(cutoff: pd.Timestamp, horizon: int, freq) -> pd.DatetimeIndex:
    """The ``horizon`` periods after ``cutoff`` at ``freq``."""
    # A shallow copy: callers may rename their index, which must not rename the cached one.
    return _future_index(pd.Timestamp(cutoff), int(horizon), freq).copy()


@lru_cache(maxsize=1024)
def _future_index(cutoff: pd.Timestamp, horizon: int, freq) -> pd.DatetimeIndex:
    # pd.date_range costs ~0.1 ms, paid at every backtest fold by the view and by predict, and
    # again by every model of a series at the same cutoffs.
    return pd.date_range(start=cutoff, periods=horizon + 1, freq=freq)[1:]


class Forecaster(BaseEstimator):
    """Root of every model: the capability tags the backtest, the registry and the studies read
    instead of model names (as sktime's and darts' tags). Class attributes, not parameters.

    Local models derive from :class:`BaseForecaster` (one series per fit), global ones from
    :class:`forecast.models.global_base.GlobalForecaster` (a panel per fit).
    """

    is_global: bool = False  # fitted on many series at once (the backtest's global engine runs it)?
    is_combination: bool = False  # combines other models chosen on backtest errors (an ensemble)?
    handles_missing: bool = False  # may y contain NaN (gaps) inside its span?
    uses_exog: bool = False  # does the model read X / X_future?

    def min_train_length(self) -> int:
        """Fewest non-missing observations a series needs to be forecast."""
        return 3


TAGS: tuple[str, ...] = ("is_global", "is_combination", "handles_missing", "uses_exog")


class BaseForecaster(Forecaster):
    """Base class of local models: validation and output contract around ``_fit`` / ``_predict``
    / ``_update``."""

    # ---- public API ----------------------------------------------------------------------------
    def fit(self, y: pd.Series, X: pd.DataFrame | None = None) -> BaseForecaster:
        y, X = self._start_fit(y, X)
        self._fit(y, X)
        return self

    def warm_fit(self, y: pd.Series, X: pd.DataFrame | None = None) -> BaseForecaster:
        if not hasattr(self, "cutoff_"):
            return self.fit(y, X)
        previous_columns = self.exog_columns_
        y, X = self._start_fit(y, X)
        # Starting values belong to the previous regressors; other columns need a cold start.
        if self.exog_columns_ == previous_columns:
            self._warm_fit(y, X)
        else:
            self._fit(y, X)
        return self

    def _start_fit(self, y: pd.Series, X: pd.DataFrame | None) -> tuple[pd.Series, pd.DataFrame | None]:
        y = check_y(y)
        X = self._check_X(X, y.index)
        n_obs = self._check_applicable(y)
        self.freq_ = y.index.freq
        self.cutoff_ = y.index[-1]
        self.n_obs_ = n_obs
        self.exog_columns_ = list(X.columns) if X is not None else []
        return y, X

    def predict(self, horizon: int, X_future: pd.DataFrame | None = None) -> pd.DataFrame:
        self._check_fitted()
        if int(horizon) < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        horizon = int(horizon)
        index = future_index(self.cutoff_, horizon, self.freq_)
        if self.uses_exog and self.exog_columns_:
            if X_future is None:
                raise ValueError(f"{type(self).__name__} needs X_future with columns {self.exog_columns_}")
            missing = index.difference(X_future.index)
            if len(missing):
                raise ValueError(f"X_future lacks periods {list(missing[:3])}...")
            X_future = X_future.loc[index, self.exog_columns_]
            if X_future.isna().any().any():
                raise ValueError("X_future contains missing values")
        else:
            X_future = None
        out = self._predict(horizon, X_future)
        nested = nest_bounds({c: np.asarray(out[c], dtype=float) for c in PREDICTION_COLUMNS})
        # One stacked float copy (nothing returned shares memory with the model's state) makes the
        # frame in one block: this runs at every backtest fold, where a frame from a dict of
        # columns costs twice as much.
        values = np.column_stack([nested[c] for c in PREDICTION_COLUMNS])
        return pd.DataFrame(values, index=index, columns=_PREDICTION_INDEX.copy())

    def update(self, y: pd.Series, X: pd.DataFrame | None = None) -> BaseForecaster:
        self._check_fitted()
        y = check_y(y)
        X = self._check_X(X, y.index)
        if y.index[-1] < self.cutoff_:
            raise ValueError("update needs a series that ends at or after the current cutoff")
        columns = list(X.columns) if X is not None else []
        if columns != self.exog_columns_:
            # The fitted state (regression coefficients, regressor scaling) belongs to these columns.
            raise ValueError(f"update got exogenous columns {columns}, the model was fitted with {self.exog_columns_}")
        n_obs = self._check_applicable(y)
        self._update(y, X)
        self.cutoff_ = y.index[-1]
        self.n_obs_ = n_obs
        return self

    # ---- hooks ---------------------------------------------------------------------------------
    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(
        self, horizon: int, X_future: pd.DataFrame | None
    ) -> pd.DataFrame | dict[str, np.ndarray]:  # pragma: no cover
        """:data:`PREDICTION_COLUMNS` for steps 1..horizon: a frame, or (cheaper, as ``predict``
        makes the one frame it returns) a dict of arrays."""
        raise NotImplementedError

    def _update(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        # Default: a cold refit on the longer series; models with cheap state updates override.
        self._fit(y, X)

    def _warm_fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        # Default: a cold fit; models whose optimiser takes starting values override.
        self._fit(y, X)

    # ---- helpers -------------------------------------------------------------------------------
    def _check_X(self, X: pd.DataFrame | None, index: pd.DatetimeIndex) -> pd.DataFrame | None:
        if not self.uses_exog or X is None or X.shape[1] == 0:
            return None
        if not X.index.equals(index):
            X = X.reindex(index)
        if X.isna().any().any():
            raise ModelNotApplicable("exogenous regressors have missing values in the training window")
        return X.astype(float)

    def _check_applicable(self, y: pd.Series) -> int:
        """Raise ModelNotApplicable unless the model can fit ``y``; return its observation count."""
        # numpy, not y.isna(): this runs at every backtest fit and update.
        n_missing = int(np.count_nonzero(np.isnan(y.to_numpy(dtype=float))))
        if not self.handles_missing and n_missing:
            raise ModelNotApplicable(
                f"{type(self).__name__} cannot handle gaps ({n_missing} missing periods in the training window)"
            )
        n_obs = len(y) - n_missing
        if n_obs < self.min_train_length():
            raise ModelNotApplicable(
                f"{type(self).__name__} needs >= {self.min_train_length()} observations, got {n_obs}"
            )
        return n_obs

    def _check_fitted(self) -> None:
        if not hasattr(self, "cutoff_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")


def check_y(y: pd.Series) -> pd.Series:
    if not isinstance(y, pd.Series):
        raise TypeError("y must be a pandas Series")
    if not isinstance(y.index, pd.DatetimeIndex) or y.index.freq is None:
        raise TypeError("y needs a DatetimeIndex with freq set (e.g. y.asfreq('MS'))")
    if y.empty:
        raise ModelNotApplicable("empty training series")
    # A new Series object either way (copy-on-write shares the data); astype only when needed.
    return y.copy(deep=False) if y.dtype == np.float64 else y.astype(float)


def order_intervals(out: pd.DataFrame) -> pd.DataFrame:
    """Make bounds nest around the mean: lo_95 <= lo_80 <= mean <= hi_80 <= hi_95.

    Sampling noise (Prophet) or separately fitted quantiles can cross; widening a bound to the
    next inner one is the least change that restores the order and never moves the mean.
    """
    nested = nest_bounds({c: out[c].to_numpy(dtype=float) for c in PREDICTION_COLUMNS})
    return pd.DataFrame({c: nested.get(c, out[c]) for c in out.columns}, index=out.index)


def nest_bounds(column: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`order_intervals` on arrays (numpy, not column assignment: it runs at every fold)."""
    column["lo_80"] = np.minimum(column["lo_80"], column["mean"])
    column["hi_80"] = np.maximum(column["hi_80"], column["mean"])
    column["lo_95"] = np.minimum(column["lo_95"], column["lo_80"])
    column["hi_95"] = np.maximum(column["hi_95"], column["hi_80"])
    return column


def normal_intervals(mean: np.ndarray, sigma: np.ndarray) -> dict[str, np.ndarray]:
    """Gaussian 80/95% bounds around ``mean`` with per-step standard deviation ``sigma``."""
    out = {"mean": np.asarray(mean, float)}
    sigma = np.asarray(sigma, float)
    for level in LEVELS:
        z = _normal_quantile(0.5 + level / 200.0)
        out[f"lo_{level}"] = out["mean"] - z * sigma
        out[f"hi_{level}"] = out["mean"] + z * sigma
    return out


@cache
def _normal_quantile(p: float) -> float:
    # scipy's ppf costs ~40 us a call, paid twice per forecast; the value never changes.
    from scipy.stats import norm

    return float(norm.ppf(p))


class StateSpacePickleMixin:
    """Pickle a fitted statsmodels state-space result as its model and parameters, not its arrays.

    A fitted SARIMAX result keeps the smoothed states and their covariances for every period
    (~28 MB for a seasonal model on 255 months), and each registered champion carried them into
    the MLflow store. Forecasts need only the filter's final state, which re-running the filter
    with the same parameters reproduces exactly (``extend`` results included: their model starts
    from the stored state), so the pickle holds ``result_.model`` and ``result_.params`` and
    unpickling filters once (milliseconds).
    """

    def __getstate__(self):
        state = super().__getstate__()
        result = state.get("result_")
        if result is not None:
            # a copy: object.__getstate__ hands back the instance's own __dict__
            state = {**state, "result_": _FilterRecipe(result.model, result.params)}
        return state

    def __setstate__(self, state):
        recipe = state.get("result_")
        if isinstance(recipe, _FilterRecipe):
            state = {**state, "result_": recipe.rebuild()}
        super().__setstate__(state)


_STATESPACE_CACHES = ("_statespaces", "_kalman_filters", "_kalman_smoothers", "_simulation_smoothers")


class _FilterRecipe:
    __slots__ = ("model", "params")

    def __init__(self, model, params):
        self.model, self.params = model, params

    def __getstate__(self):
        # The model's state-space object caches the Cython filter and smoother of the last run,
        # output arrays included (most of the bytes); a copy without those caches rebuilds them.
        model, ssm = copy.copy(self.model), copy.copy(self.model.ssm)
        for attribute in _STATESPACE_CACHES:
            if hasattr(ssm, attribute):
                setattr(ssm, attribute, {})
        model.ssm = ssm
        return {"model": model, "params": self.params}

    def __setstate__(self, state):
        self.model, self.params = state["model"], state["params"]

    def rebuild(self):
        # cov_type "none": as the fits, no parameter covariance (forecast intervals never use it)
        return self.model.filter(self.params, cov_type="none")


def statespace_forecast_frame(result, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
    """Mean and 80/95% bounds of a fitted statsmodels state-space result (SARIMAX, UCM)."""
    exog = None if X_future is None else X_future.to_numpy(dtype=float)
    forecast = result.get_forecast(horizon, exog=exog)
    out = {"mean": forecast.predicted_mean.to_numpy()}
    for level in LEVELS:
        bounds = forecast.conf_int(alpha=1 - level / 100).to_numpy()
        out[f"lo_{level}"] = bounds[:, 0]
        out[f"hi_{level}"] = bounds[:, 1]
    return pd.DataFrame(out)
