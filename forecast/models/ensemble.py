"""Combination of several forecasters by the mean or median of each prediction column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster

_COMBINERS: dict[str, Callable[..., Any]] = {"mean": np.mean, "median": np.median}


class EnsembleForecaster(BaseForecaster):
    """Fits a clone of every member and combines their forecasts column by column.

    Each column (mean and every interval bound) is averaged or medianed across members separately,
    i.e. quantile averaging. Both combiners are monotone, so bounds that are ordered in every member
    stay ordered in the combination. Capability tags follow the members: exogenous regressors are
    read if any member reads them (and passed only to those members), gaps are allowed only if every
    member allows them. Read the tags from an instance; on this class they are properties.
    """

    is_combination = True

    def __init__(self, estimators: list[tuple[str, BaseForecaster]], method: str = "median"):
        self.estimators = estimators
        self.method = method

    @property
    def uses_exog(self) -> bool:  # type: ignore[override]
        return any(est.uses_exog for _, est in self.estimators)

    @property
    def handles_missing(self) -> bool:  # type: ignore[override]
        return all(est.handles_missing for _, est in self.estimators)

    def min_train_length(self) -> int:
        return max(est.min_train_length() for _, est in self.estimators)

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        if self.method not in _COMBINERS:
            raise ValueError(f"unknown ensemble method '{self.method}'; known: {sorted(_COMBINERS)}")
        if not self.estimators:
            raise ValueError("EnsembleForecaster needs at least one member")
        self.members_ = [(name, clone(est)) for name, est in self.estimators]
        for _, member in self.members_:
            member.fit(y, X if member.uses_exog else None)

    def _update(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        for _, member in self.members_:
            member.update(y, X if member.uses_exog else None)

    def _warm_fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        for _, member in self.members_:
            member.warm_fit(y, X if member.uses_exog else None)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        forecasts = [
            member.predict(horizon, X_future if member.uses_exog else None)[PREDICTION_COLUMNS].to_numpy()
            for _, member in self.members_
        ]
        combined = _COMBINERS[self.method](np.stack(forecasts), axis=0)
        return pd.DataFrame(combined, columns=PREDICTION_COLUMNS)
