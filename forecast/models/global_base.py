"""The contract of global (cross-series) forecasters: one fit on many series, a forecast for each.

A local forecaster (:mod:`forecast.models.base`) learns from one series; a global one pools the
histories of a whole panel, so it cannot share the local ``fit(y, X)`` signature. It keeps the
same scikit-learn rules and output columns:

* ``__init__`` stores hyper-parameters verbatim and nothing else (``sklearn.base.clone`` works).
* ``fit(histories, horizon)``: ``histories`` maps each series id to a float ``pd.Series`` on a
  regular ``DatetimeIndex`` with ``freq`` set (its history up to its own cutoff); ``horizon`` is
  the most steps ``predict`` will be asked for (direct multi-step models train one output per
  step). A series the model cannot forecast (too short, gaps) is left out and listed with its
  reason in ``not_applicable_``; only when no series can be forecast does ``fit`` raise
  :class:`ModelNotApplicable`.
* ``predict(horizon=None)`` returns one long frame, ``unique_id, ds`` and
  :data:`PREDICTION_COLUMNS`, for every forecastable series: the ``horizon`` periods after that
  series' own last period, bounds nested ``lo_95 <= lo_80 <= mean <= hi_80 <= hi_95``.

The backtest recognises these models by the class tag ``is_global`` and runs them through
:mod:`forecast.backtest.global_engine`. Exogenous regressors are not supported (``uses_exog`` is
False): drivers differ from series to series.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd

from forecast.errors import ModelNotApplicable, NotFittedError
from forecast.models.base import PREDICTION_COLUMNS, Forecaster, check_y, future_index, nest_bounds

GLOBAL_FORECAST_COLUMNS: list[str] = ["unique_id", "ds", *PREDICTION_COLUMNS]


class GlobalForecaster(Forecaster):
    """Base class of global models: validation and output contract around ``_fit`` / ``_predict``.
    ``min_train_length``: fewest observations a series needs to be forecast (not to contribute
    training data)."""

    is_global: bool = True

    # ---- public API ----------------------------------------------------------------------------
    def fit(self, histories: Mapping[Hashable, pd.Series], horizon: int) -> GlobalForecaster:
        if int(horizon) < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        if not isinstance(histories, Mapping):
            raise TypeError("histories must map series ids to pandas Series")
        usable: dict[Hashable, np.ndarray] = {}
        self.not_applicable_: dict[Hashable, str] = {}
        self.cutoffs_: dict[Hashable, pd.Timestamp] = {}
        self.freqs_: dict = {}
        for uid, y in histories.items():
            try:
                y = check_y(y)
                self._check_applicable(y)
            except ModelNotApplicable as exc:
                self.not_applicable_[uid] = str(exc)
                continue
            usable[uid] = y.to_numpy(dtype=float, copy=True)
            self.cutoffs_[uid] = y.index[-1]
            self.freqs_[uid] = y.index.freq
        if not usable:
            reasons = sorted(set(self.not_applicable_.values()))
            raise ModelNotApplicable(f"{type(self).__name__}: no series can be forecast ({'; '.join(reasons)[:300]})")
        self.horizon_ = int(horizon)
        self._fit(usable, self.horizon_)
        return self

    def predict(self, horizon: int | None = None) -> pd.DataFrame:
        if not hasattr(self, "horizon_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")
        horizon = self.horizon_ if horizon is None else int(horizon)
        if not 1 <= horizon <= self.horizon_:
            raise ValueError(f"horizon must be in 1..{self.horizon_} (the horizon it was fitted for), got {horizon}")
        paths = self._predict(horizon)
        frames = []
        for uid, cutoff in self.cutoffs_.items():
            out = nest_bounds({c: np.array(paths[uid][c][:horizon], dtype=float) for c in PREDICTION_COLUMNS})
            ds = future_index(cutoff, horizon, self.freqs_[uid])
            frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, **out}))
        return pd.concat(frames, ignore_index=True)[GLOBAL_FORECAST_COLUMNS]

    # ---- hooks ---------------------------------------------------------------------------------
    def _fit(self, histories: dict[Hashable, np.ndarray], horizon: int) -> None:  # pragma: no cover
        """Learn from ``histories`` (id -> values, oldest first; every series passed the checks)."""
        raise NotImplementedError

    def _predict(self, horizon: int) -> dict[Hashable, dict[str, np.ndarray]]:  # pragma: no cover
        """Per fitted series id, each of :data:`PREDICTION_COLUMNS` for steps 1..horizon."""
        raise NotImplementedError

    # ---- helpers -------------------------------------------------------------------------------
    def _check_applicable(self, y: pd.Series) -> None:
        if not self.handles_missing and y.isna().any():
            raise ModelNotApplicable(
                f"{type(self).__name__} cannot handle gaps ({int(y.isna().sum())} missing periods in the training window)"
            )
        n_obs = int(y.notna().sum())
        if n_obs < self.min_train_length():
            raise ModelNotApplicable(
                f"{type(self).__name__} needs >= {self.min_train_length()} observations, got {n_obs}"
            )
