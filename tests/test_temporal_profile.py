"""Multiplicative seasonal factors by ratio to the centred moving average (forecast/temporal/profile.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.temporal.profile import factors_on, seasonal_factors

TRUE_FACTORS = np.array([0.85, 0.9, 1.1, 1.0, 0.95, 1.2, 1.05, 0.9, 1.0, 0.95, 1.0, 1.1])
TRUE_FACTORS = TRUE_FACTORS / TRUE_FACTORS.mean()
TOLERANCE = 0.01  # the recovered factors are off by ~0.003 with this trend and noise


def _series(n: int = 96, sign: float = 1.0, seed: int = 3) -> pd.Series:
    """Linear trend x known factors x 0.5% multiplicative noise, monthly from 2012-01."""
    index = pd.date_range("2012-01-01", periods=n, freq="MS")
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    y = sign * (200 + 1.0 * t) * TRUE_FACTORS[index.month - 1] * (1 + rng.normal(0, 0.005, n))
    return pd.Series(y, index=index)


def test_recovers_known_factors_of_a_positive_series():
    factors = seasonal_factors(_series())
    assert factors.shape == (12,)
    assert factors.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(factors, TRUE_FACTORS, atol=TOLERANCE)
    # not the flat profile: the test would catch a method that ignores the season
    assert np.abs(factors - 1).max() > 0.1


def test_recovers_known_factors_of_an_always_negative_series():
    factors = seasonal_factors(_series(sign=-1.0))
    assert factors is not None
    assert np.all(factors > 0)
    assert factors.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(factors, TRUE_FACTORS, atol=TOLERANCE)


def test_last_years_only():
    y = _series()
    # the first five years carry a different pattern; the last three the true one
    early = y.index < "2017-01-01"
    y[early] = y[early] * np.roll(TRUE_FACTORS, 3)[y.index[early].month - 1] / TRUE_FACTORS[y.index[early].month - 1]
    np.testing.assert_allclose(seasonal_factors(y, years=3), TRUE_FACTORS, atol=2 * TOLERANCE)
    assert np.abs(seasonal_factors(y) - TRUE_FACTORS).max() > 0.03


def test_none_when_the_moving_average_changes_sign():
    index = pd.date_range("2012-01-01", periods=96, freq="MS")
    t = np.arange(96)
    crossing = pd.Series(-60 + 1.0 * t + 5 * np.sin(2 * np.pi * t / 12), index=index)  # negative, then positive
    assert seasonal_factors(crossing) is None


def test_none_when_data_are_too_short():
    y = _series()
    assert seasonal_factors(y.iloc[:24]) is None  # one ratio per calendar month, two needed
    assert seasonal_factors(y.iloc[:12]) is None  # no centred average at all
    assert seasonal_factors(y.iloc[:0]) is None
    assert seasonal_factors(pd.Series(np.nan, index=y.index)) is None
    assert seasonal_factors(y.iloc[:36]) is not None  # two ratios per month suffice
    assert seasonal_factors(y.iloc[:36], min_ratios=3) is None


def test_factors_on_maps_calendar_months():
    factors = np.arange(1.0, 13.0)
    grid = pd.date_range("2020-03-01", periods=14, freq="MS")
    np.testing.assert_array_equal(factors_on(grid, factors), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4])
    np.testing.assert_array_equal(factors_on(grid, None), np.ones(14))
    np.testing.assert_array_equal(factors_on(grid, tuple(factors)), factors_on(grid, factors))
