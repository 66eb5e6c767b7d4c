"""Currency decomposition as a model: forecast the dollar volume, convert under an FX path.

Most of Japan's digital payments are invoiced in dollars, so ``yen = usd_volume * usdjpy``. The
wrapper divides the yen series by the exchange rate (the column ``fx_column`` of X holds log
USD/JPY), lets a base model forecast that dollar volume (with the other X columns, if the base
model reads any) and multiplies every forecast column by the future exchange rate. The yen
forecast therefore moves one for one with the FX path: a 15% weaker yen gives 15% more yen.
Intervals are conditional on the FX path given (the FX path's own uncertainty is the scenario's).
Without the FX column the wrapper is simply its base model on the yen series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster


class DollarVolumeForecaster(BaseForecaster):
    """Base model ``base`` (a registry name, built with ``base_params``) on ``y / exp(X[fx_column])``."""

    uses_exog = True

    def __init__(
        self,
        base: str = "ets",
        base_params: dict | None = None,
        fx_column: str = "usdjpy_log",
        season_length: int = 12,
    ):
        self.base = base
        self.base_params = base_params
        self.fx_column = fx_column
        self.season_length = season_length

    def _make_base(self) -> BaseForecaster:
        from forecast.models.registry import make_model  # the registry imports this module

        if self.base == "dollar_volume":
            raise ValueError("dollar_volume cannot wrap itself")
        return make_model(self.base, self.season_length, self.base_params)

    @property
    def handles_missing(self) -> bool:  # type: ignore[override]
        return self._make_base().handles_missing

    def min_train_length(self) -> int:
        return self._make_base().min_train_length()

    def _split(
        self, y_index: pd.DatetimeIndex, X: pd.DataFrame | None
    ) -> tuple[np.ndarray | None, pd.DataFrame | None]:
        if X is None or self.fx_column not in X.columns:
            return None, X
        rate = np.exp(X[self.fx_column].to_numpy(dtype=float))
        others = X.drop(columns=[self.fx_column])
        return rate, (others if others.shape[1] else None)

    def _dollar_volume(self, y: pd.Series, X: pd.DataFrame | None) -> tuple[pd.Series, pd.DataFrame | None]:
        rate, others = self._split(y.index, X)
        usd = y if rate is None else y / rate
        return usd.rename(y.name), others

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        self.converts_ = X is not None and self.fx_column in X.columns
        usd, others = self._dollar_volume(y, X)
        self.base_model_ = self._make_base()
        self.base_model_.fit(usd, others if self.base_model_.uses_exog else None)

    def _update(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        usd, others = self._dollar_volume(y, X)
        self.base_model_.update(usd, others if self.base_model_.uses_exog else None)

    def _warm_fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        usd, others = self._dollar_volume(y, X)
        warm = getattr(self.base_model_, "warm_fit", None)
        exog = others if self.base_model_.uses_exog else None
        if warm is None:
            self.base_model_ = self._make_base().fit(usd, exog)
        else:
            warm(usd, exog)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        rate, others = self._split(pd.DatetimeIndex([]), X_future)
        exog = others if self.base_model_.uses_exog and self.base_model_.exog_columns_ else None
        usd = self.base_model_.predict(horizon, exog)[PREDICTION_COLUMNS]
        if rate is None:
            return usd.reset_index(drop=True)
        # The rate is positive, so multiplying keeps lo_95 <= lo_80 <= mean <= hi_80 <= hi_95.
        return pd.DataFrame(usd.to_numpy() * rate[:, None], columns=PREDICTION_COLUMNS)
