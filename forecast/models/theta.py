"""Theta method (Assimakopoulos & Nikolopoulos), via statsmodels' ThetaModel."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning, EstimationWarning
from statsmodels.tsa.forecasting.theta import ThetaModel

from forecast.models.base import LEVELS, BaseForecaster


class ThetaForecaster(BaseForecaster):
    """Theta(2) forecast with classical seasonal adjustment when a seasonality test says so.

    Seasonal adjustment is multiplicative only for strictly positive series ("auto"); balances are
    negative, so they get additive adjustment. ThetaModel's own autocorrelation test at lag m may
    decide that a series is not seasonal, in which case it is forecast unadjusted.
    Refitting is cheap (milliseconds), so ``update`` is a plain refit.
    """

    def __init__(self, season_length: int = 12):
        self.season_length = season_length

    def min_train_length(self) -> int:
        # Classical decomposition needs two full seasons.
        return max(2 * self.season_length, 4)

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        seasonal = self.season_length > 1
        method = "additive" if (y <= 0).any() else "auto"
        model = ThetaModel(
            y,
            period=self.season_length if seasonal else None,
            deseasonalize=seasonal,
            method=method,
        )
        self.result_ = model.fit()
        with warnings.catch_warnings():
            # The interval variance comes from a lazily fitted SARIMAX(0,1,1) with drift on y; on
            # short series its starting values fall back to zeros (EstimationWarning) or the
            # optimiser hits its cap (ConvergenceWarning). Both only concern the optimiser's path,
            # and triggering the fit here keeps predict free of them.
            warnings.simplefilter("ignore", EstimationWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.sigma2_ = self.result_.sigma2

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        out = {"mean": self.result_.forecast(horizon).to_numpy()}
        for level in LEVELS:
            bounds = self.result_.prediction_intervals(horizon, alpha=1 - level / 100)
            out[f"lo_{level}"] = bounds["lower"].to_numpy()
            out[f"hi_{level}"] = bounds["upper"].to_numpy()
        return out
