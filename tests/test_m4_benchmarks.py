"""M4 benchmark definitions: seasonality test, classical decomposition, Naive2 and Theta."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.seasonal import seasonal_decompose

from forecast.models.m4_benchmarks import Naive2Forecaster, ThetaM4Forecaster, is_seasonal, seasonal_indices

PATTERN = np.array([0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7])


def _series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2001-01-01", periods=len(values), freq="MS"))


def _seasonal(n: int = 72, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * PATTERN[np.arange(n) % 12] * (1 + rng.normal(0, 0.01, n))


def test_seasonality_test_is_the_90_percent_acf_limit_at_lag_m():
    rng = np.random.default_rng(1)
    assert is_seasonal(_seasonal(), 12)
    assert not is_seasonal(rng.normal(100, 1, 72), 12)
    assert not is_seasonal(_seasonal(35), 12)  # fewer than 3 seasons: never seasonal
    assert not is_seasonal(_seasonal(), 1)
    # the limit by hand: r_m against 1.645 * sqrt((1 + 2 sum_{k<m} r_k^2) / n)
    x = rng.normal(0, 1, 60) + 0.4 * np.sin(2 * np.pi * np.arange(60) / 4)
    d = x - x.mean()
    r = np.array([np.sum(d[k:] * d[:-k]) for k in range(1, 5)]) / np.sum(d**2)
    assert is_seasonal(x, 4) == (abs(r[3]) > 1.645 * np.sqrt((1 + 2 * np.sum(r[:3] ** 2)) / 60))


@pytest.mark.parametrize("m, n, multiplicative", [(12, 50, True), (12, 50, False), (4, 23, True)])
def test_indices_match_the_classical_decomposition(m, n, multiplicative):
    values = 50 + np.arange(n) + _seasonal(n)[:n] % 17
    model = "multiplicative" if multiplicative else "additive"
    reference = seasonal_decompose(values, model=model, period=m).seasonal[:m]
    np.testing.assert_allclose(seasonal_indices(values, m, multiplicative), reference, rtol=1e-10)


def test_naive2_repeats_the_last_adjusted_value_times_the_season():
    y = _series(_seasonal())
    model = Naive2Forecaster(season_length=12).fit(y)
    assert model.seasonal_ and model.multiplicative_
    forecast = model.predict(18)
    adjusted_last = y.iloc[-1] / model.indices_[(len(y) - 1) % 12]
    expected = adjusted_last * model.indices_[np.arange(len(y), len(y) + 18) % 12]
    np.testing.assert_allclose(forecast["mean"], expected)
    np.testing.assert_allclose(forecast["mean"], 100 * PATTERN[np.arange(72, 90) % 12], rtol=0.05)
    assert (forecast["lo_95"] <= forecast["lo_80"]).all() and (forecast["hi_80"] <= forecast["hi_95"]).all()


def test_non_seasonal_naive2_is_the_naive_forecast():
    rng = np.random.default_rng(2)
    y = _series(100 + np.cumsum(rng.normal(0, 1, 40)))
    forecast = Naive2Forecaster().fit(y).predict(6)
    np.testing.assert_allclose(forecast["mean"], y.iloc[-1])


def test_theta_is_the_mean_of_the_line_and_ses_of_the_theta_line():
    t = np.arange(1, 61, dtype=float)
    y = _series(10 + 0.5 * t + np.random.default_rng(3).normal(0, 1, 60))
    model = ThetaM4Forecaster().fit(y)
    assert not model.seasonal_
    forecast = model.predict(6)["mean"].to_numpy()
    line = model.intercept_ + model.slope_ * np.arange(61, 67)
    np.testing.assert_allclose(forecast, 0.5 * line + 0.5 * model.ses_level_)
    assert model.slope_ == pytest.approx(0.5, abs=0.05)
    # half the slope is extrapolated: the forecast rises by ~0.25 per step
    assert np.diff(forecast) == pytest.approx(np.full(5, model.slope_ / 2))


def test_negative_series_get_additive_adjustment():
    y = _series(_seasonal() - 150)
    for cls in (Naive2Forecaster, ThetaM4Forecaster):
        model = cls().fit(y)
        assert model.seasonal_ and not model.multiplicative_
        assert np.isfinite(model.predict(12).to_numpy()).all()
