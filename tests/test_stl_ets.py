"""STL + ETS: statsmodels' STLForecast recipe, its seasonal part carried forward, and robust to a level jump."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.stl import STLForecast

from forecast.models.registry import make_model
from forecast.models.stl_ets import STLETSForecaster

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _series(n: int = 120, jump_at: int | None = None, noise: float = 2.0) -> pd.Series:
    t = np.arange(n)
    values = 100 + 0.3 * t + 15 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(3).normal(0, noise, n)
    if jump_at is not None:
        values[jump_at:] += 80
    return pd.Series(values, index=pd.date_range("2005-01-01", periods=n, freq="MS"))


def test_forecasts_equal_statsmodels_stlforecast_with_the_same_ets():
    y = _series()
    ours = STLETSForecaster(season_length=12, seasonal=13).fit(y).predict(12)
    reference = STLForecast(
        y,
        ETSModel,
        model_kwargs={"error": "add", "trend": "add", "damped_trend": True},
        period=12,
        seasonal=13,
        robust=True,
    ).fit(fit_kwargs={"disp": False})
    np.testing.assert_allclose(ours["mean"].to_numpy(), reference.forecast(12).to_numpy(), rtol=1e-6)
    assert list(ours.index) == list(pd.date_range("2015-01-01", periods=12, freq="MS"))


def test_the_seasonal_part_continues_the_last_cycle_and_the_bounds_are_ordered():
    y = _series(noise=0.0)
    forecast = STLETSForecaster(season_length=12).fit(y).predict(24)
    year_over_year = forecast["mean"].to_numpy()[12:] - forecast["mean"].to_numpy()[:12]
    assert np.ptp(year_over_year) < 1.0  # the same seasonal pattern both years, up to the damped trend
    assert (forecast["lo_95"] <= forecast["lo_80"]).all() and (forecast["lo_80"] <= forecast["mean"]).all()
    assert (forecast["mean"] <= forecast["hi_80"]).all() and (forecast["hi_80"] <= forecast["hi_95"]).all()


def test_a_level_jump_leaves_the_carried_forward_seasonal_pattern_near_the_true_one():
    """A one-off jump of +80 (five times the seasonal amplitude) two years before the cutoff: the
    robust decomposition keeps it out of the seasonal pattern it carries forward."""
    y = _series(jump_at=96, noise=0.5)
    model = STLETSForecaster(season_length=12).fit(y)
    amplitude = (model.last_cycle_.max() - model.last_cycle_.min()) / 2
    assert amplitude == pytest.approx(15, abs=1.5)


def test_registered_and_bad_settings_fail_clearly():
    assert isinstance(make_model("stl_ets", 12), STLETSForecaster)
    with pytest.raises(ValueError, match="odd integer"):
        STLETSForecaster(seasonal=24).fit(_series())
    annual = pd.Series(np.arange(20.0), index=pd.date_range("2000-01-01", periods=20, freq="YS"))
    assert len(STLETSForecaster(season_length=1).fit(annual).predict(3)) == 3  # no cycle: plain ETS
