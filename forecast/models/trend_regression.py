"""Linear trend regression on drivers (e.g. log USD/JPY, AI adoption), fitted by OLS.

``y_t = a + b t + (Fourier terms) + sum_j c_j x_{j,t} + e_t`` with ``t`` the period number on the
regular grid, so a gap of missing years counts as elapsed time. Intervals are the OLS prediction
intervals (Student t with the residual degrees of freedom): with a handful of points they are
wide, as they should be.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from features.builders import calendar_terms
from forecast.errors import ModelNotApplicable
from forecast.models.base import LEVELS, BaseForecaster, future_index

# Columns the base class cannot know about before fit; min_train_length assumes one driver.
_EXOG_HINT = 1


class TrendRegressionForecaster(BaseForecaster):
    """OLS of y on a constant, a linear trend (``trend``), calendar Fourier terms and every column of X.

    A driver column enters only if at least ``min_varying`` training values differ from its most
    common value: a driver that is (almost) constant in the window, such as AI adoption before
    2023, has no identifiable effect and would otherwise be fitted to a single point. The dropped
    columns are listed in ``dropped_columns_``. Missing target periods are left out of the fit.
    """

    handles_missing = True
    uses_exog = True

    def __init__(self, season_length: int = 12, trend: bool = True, min_varying: int = 2):
        self.season_length = season_length
        self.trend = trend
        self.min_varying = min_varying

    def _fourier(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        """Calendar Fourier terms without the Nyquist sine, which is zero at every period."""
        if self.season_length not in (4, 12):
            return pd.DataFrame(index=index)
        terms = calendar_terms(index, self.season_length)
        return terms.drop(columns=[f"sin_{self.season_length // 2}"])

    def _n_base_terms(self) -> int:
        one_year = pd.date_range("2000-01-01", periods=12, freq="MS")
        return 1 + int(bool(self.trend)) + self._fourier(one_year).shape[1]

    def min_train_length(self) -> int:
        # One residual degree of freedom beyond the parameters (the base terms and one driver).
        return self._n_base_terms() + _EXOG_HINT + 1

    def _design(self, index: pd.DatetimeIndex, X: pd.DataFrame | None, start: pd.Timestamp) -> pd.DataFrame:
        steps = _periods_between(start, index, self.freq_)
        parts = [pd.DataFrame({"const": 1.0}, index=index)]
        if self.trend:
            parts.append(pd.DataFrame({"trend": steps.astype(float)}, index=index))
        parts.append(self._fourier(index))
        if X is not None and self.used_columns_:
            parts.append(X[self.used_columns_].set_axis(index))
        return pd.concat(parts, axis=1).astype(float)

    def _fit(self, y: pd.Series, X: pd.DataFrame | None) -> None:
        observed = y.notna().to_numpy()
        columns = [] if X is None else list(X.columns)
        self.used_columns_ = (
            [] if X is None else [c for c in columns if _varying(X[c].to_numpy()[observed]) >= self.min_varying]
        )
        self.dropped_columns_ = [c for c in columns if c not in self.used_columns_]
        self.start_ = y.index[0]
        design = self._design(y.index, X, self.start_)
        n_params = design.shape[1]
        n_obs = int(observed.sum())
        if n_obs < n_params + 1:
            raise ModelNotApplicable(
                f"{type(self).__name__} needs >= {n_params + 1} observations for {n_params} coefficients, got {n_obs}"
            )
        self.result_ = sm.OLS(y.to_numpy()[observed], design.to_numpy()[observed]).fit()
        self.coefficients_ = pd.Series(self.result_.params, index=design.columns)
        self.std_errors_ = pd.Series(self.result_.bse, index=design.columns)

    def _predict(self, horizon: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        index = future_index(self.cutoff_, horizon, self.freq_)
        design = self._design(index, X_future, self.start_)
        prediction = self.result_.get_prediction(design.to_numpy())
        out = {"mean": prediction.predicted_mean}
        for level in LEVELS:
            frame = prediction.summary_frame(alpha=1 - level / 100)
            out[f"lo_{level}"] = frame["obs_ci_lower"].to_numpy()
            out[f"hi_{level}"] = frame["obs_ci_upper"].to_numpy()
        return pd.DataFrame(out)


def _varying(values: np.ndarray) -> int:
    """How many values differ from the most common one."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0
    uniques, counts = np.unique(values, return_counts=True)
    return int(values.size - counts.max())


def _periods_between(start: pd.Timestamp, index: pd.DatetimeIndex, freq) -> np.ndarray:
    """Number of ``freq`` periods from ``start`` to each date of ``index`` (0 at ``start``)."""
    grid = pd.date_range(start, index.max(), freq=freq)
    position = pd.Series(np.arange(len(grid)), index=grid)
    return position.reindex(index).to_numpy()
