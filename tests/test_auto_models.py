"""Automatic ETS, optimised Theta, CES and the small automatic ARIMA: class selection on simulated series, and the recursions
against direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.models.auto_arima import AutoARIMAForecaster, _ArmaFit, n_differences
from forecast.models.auto_ets import AutoETSForecaster, candidate_specs
from forecast.models.auto_theta import AutoThetaForecaster, _dynamic_lines, _ThetaFit
from forecast.models.ces import CESForecaster, _matrices, one_step_forecasts

# Small fits run as in the engine's tasks: one BLAS/OpenMP thread (see conftest.one_blas_thread).
pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2000-01-01", periods=len(values), freq="MS"))


def _multiplicative_seasonal(n: int = 120, seed: int = 0) -> pd.Series:
    """Level growing from 100 to ~300, seasonal swings of +-50% of the level, 2% noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = 100 * np.exp(0.01 * t)
    season = 1 + 0.5 * np.sin(2 * np.pi * t / 12)
    return _series(level * season * (1 + rng.normal(0, 0.02, n)))


# ---- auto_ets --------------------------------------------------------------------------------
def test_candidates_follow_r_restrictions():
    specs = candidate_specs(positive=True, seasonal=True, undamped=True)
    assert len(specs) == 15  # 2 errors x 3 trends x 3 seasons, less additive error x mult. season
    assert not [s for s in specs if s.error == "add" and s.seasonal == "mul"]
    assert len(candidate_specs(positive=False, seasonal=True, undamped=True)) == 6
    assert all(s.seasonal is None for s in candidate_specs(positive=True, seasonal=False))
    default = candidate_specs(positive=True, seasonal=True)
    assert len(default) == 10 and all(s.damped for s in default if s.trend is not None)


def test_multiplicative_seasonal_series_gets_multiplicative_season():
    model = AutoETSForecaster(season_length=12).fit(_multiplicative_seasonal())
    assert model.spec_.seasonal == "mul", model.spec_.label()


def test_flat_noisy_series_gets_no_trend_and_no_season():
    y = _series(50 + np.random.default_rng(1).normal(0, 1, 96))
    model = AutoETSForecaster(season_length=12).fit(y)
    assert model.spec_.trend is None and model.spec_.seasonal is None, model.spec_.label()


@pytest.mark.parametrize("shift", [-400.0, -60.0], ids=["all-negative", "crosses-zero"])
def test_non_positive_series_never_gets_multiplicative_components(shift):
    y = _multiplicative_seasonal() + shift
    model = AutoETSForecaster(season_length=12).fit(y)
    assert model.spec_.error == "add" and model.spec_.seasonal != "mul", model.spec_.label()
    assert model.spec_.seasonal == "add"  # the season is still found, additively


def test_short_series_gets_no_seasonal_class():
    y = _multiplicative_seasonal(n=20)
    model = AutoETSForecaster(season_length=12).fit(y)
    assert model.spec_.seasonal is None
    assert np.isfinite(model.predict(6).to_numpy()).all()


def test_multiplicative_class_intervals_are_simulated_deterministically():
    y = _multiplicative_seasonal()
    first = AutoETSForecaster(season_length=12).fit(y).predict(18)
    second = AutoETSForecaster(season_length=12).fit(y).predict(18)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    width = (first["hi_95"] - first["lo_95"]).to_numpy()
    # Multiplicative errors: the interval scales with the seasonal level of each month.
    assert width[np.argmax(first["mean"].to_numpy())] > 1.5 * width[np.argmin(first["mean"].to_numpy())]


def test_series_scale_does_not_change_the_choice_or_the_shape_of_the_forecast():
    y = _multiplicative_seasonal()
    small = AutoETSForecaster(season_length=12).fit(y)
    large = AutoETSForecaster(season_length=12).fit(y * 1e4)
    assert small.spec_ == large.spec_
    np.testing.assert_allclose(large.predict(12)["mean"], 1e4 * small.predict(12)["mean"], rtol=1e-6)


def test_update_keeps_the_chosen_class():
    y = _multiplicative_seasonal()
    model = AutoETSForecaster(season_length=12).fit(y.iloc[:-6])
    spec, params = model.spec_, model.result_.params.copy()
    model.update(y)
    assert model.spec_ == spec
    np.testing.assert_array_equal(model.result_.params, params)


# ---- auto_theta ------------------------------------------------------------------------------
def test_dynamic_line_is_the_least_squares_line_of_the_data_so_far():
    y = np.random.default_rng(2).normal(10, 3, 40).cumsum()
    a, b = _dynamic_lines(y)
    for i in (2, 10, 39):
        t = np.arange(1, i + 2, dtype=float)
        slope, intercept = np.polyfit(t, y[: i + 1], 1)
        assert b[i] == pytest.approx(slope, rel=1e-9)
        assert a[i] == pytest.approx(intercept, rel=1e-9, abs=1e-9)


def test_theta_errors_match_the_state_recursion():
    """The vectorised one-step errors against the published recursion, step by step."""
    y = 50 + np.random.default_rng(3).normal(0, 1, 30).cumsum()
    fit = _ThetaFit(y, "DOTM")
    alpha, theta, level = fit.alpha, fit.theta, fit.level0
    a, b = _dynamic_lines(y)
    level = alpha * y[0] + (1 - alpha) * level
    errors = []
    for i in range(1, len(y)):
        mu = level + (1 - 1 / theta) * (a[i - 1] * (1 - alpha) ** i + b[i - 1] * (1 - (1 - alpha) ** (i + 1)) / alpha)
        errors.append(y[i] - mu)
        level = alpha * y[i] + (1 - alpha) * level
    assert fit.mse == pytest.approx(np.mean(np.square(errors[2:])), rel=1e-9)


def test_dotm_follows_a_linear_trend():
    t = np.arange(100)
    y = _series(20 + 2.0 * t + np.random.default_rng(4).normal(0, 1, 100))
    mean = AutoThetaForecaster(season_length=12, model="DOTM").fit(y).predict(12)["mean"].to_numpy()
    truth = 20 + 2.0 * np.arange(100, 112)
    # Classic Theta would extrapolate half the slope (~6 off on average); the optimised theta
    # takes nearly all of it.
    assert np.mean(np.abs(mean - truth)) < 2.0


def test_auto_theta_picks_the_lowest_in_sample_mse():
    y = _multiplicative_seasonal(seed=5)
    auto = AutoThetaForecaster(season_length=12, model="auto").fit(y)
    single = {m: AutoThetaForecaster(season_length=12, model=m).fit(y).fit_.mse for m in ("STM", "OTM", "DSTM", "DOTM")}
    assert auto.fit_.mse == pytest.approx(min(single.values()))
    assert auto.model_type_ == min(single, key=single.get)
    assert auto.fit_.theta >= 1.0


def test_auto_theta_refuses_unknown_model():
    with pytest.raises(ValueError, match="model"):
        AutoThetaForecaster(model="XYZ").fit(_multiplicative_seasonal())


# ---- ces -------------------------------------------------------------------------------------
def test_ces_filter_matches_the_state_recursion():
    y = np.random.default_rng(6).normal(0, 1, 50).cumsum() + 10
    state0 = np.array([9.0, 8.0])
    transition, gain = _matrices(1.2, 0.9)
    state, expected = state0.copy(), []
    for value in y:
        expected.append(state[0])
        state = transition @ state + gain * (value - state[0])
    np.testing.assert_allclose(one_step_forecasts(y, 1.2, 0.9, state0), expected, rtol=1e-10, atol=1e-10)


def test_ces_tracks_level_and_trend():
    t = np.arange(80)
    flat = _series(100 + np.random.default_rng(7).normal(0, 1, 80))
    trend = _series(100 + 3.0 * t + np.random.default_rng(8).normal(0, 1, 80))
    flat_mean = CESForecaster(season_length=12).fit(flat).predict(12)["mean"].to_numpy()
    trend_mean = CESForecaster(season_length=12).fit(trend).predict(12)["mean"].to_numpy()
    assert np.max(np.abs(flat_mean - 100)) < 3.0
    assert trend_mean[-1] - trend_mean[0] > 0.5 * 3.0 * 11  # keeps most of the slope


# ---- auto_arima ------------------------------------------------------------------------------
def test_kpss_differencing_counts():
    rng = np.random.default_rng(9)
    noise = rng.normal(0, 1, 200)
    assert n_differences(noise) == 0
    assert n_differences(noise.cumsum()) == 1
    assert n_differences(noise.cumsum().cumsum()) == 2


def test_conditional_least_squares_recovers_an_ar1():
    rng = np.random.default_rng(10)
    w = np.zeros(400)
    for t in range(1, 400):
        w[t] = 0.7 * w[t - 1] + rng.normal()
    fit = _ArmaFit(w + 5.0, 1, 0, constant=True)
    assert fit.ar[0] == pytest.approx(0.7, abs=0.08)
    assert fit.mean == pytest.approx(np.mean(w) + 5.0, abs=0.1)  # CLS estimates ~ the sample mean
    assert fit.ok and np.isfinite(fit.aicc)


def test_random_walk_with_drift_is_extrapolated_with_growing_intervals():
    rng = np.random.default_rng(11)
    y = _series(100 + np.cumsum(2.0 + rng.normal(0, 1, 150)))
    model = AutoARIMAForecaster(season_length=12).fit(y)
    assert model.order_[1] == 1
    out = model.predict(12)
    # The M4 test may call a random walk seasonal (its lag-12 autocorrelation is high), which
    # puts small seasonal wiggles on the steps; their average is the drift.
    assert np.mean(np.diff(out["mean"].to_numpy())) == pytest.approx(2.0, abs=0.3)
    width = (out["hi_95"] - out["lo_95"]).to_numpy()
    assert np.all(np.diff(width) > 0)


@pytest.mark.parametrize("model", [AutoETSForecaster, AutoThetaForecaster, CESForecaster, AutoARIMAForecaster])
@pytest.mark.parametrize(
    "values",
    [np.full(60, 7.0), np.zeros(60), np.r_[np.zeros(30), np.ones(30)]],
    ids=["constant", "zeros", "step-from-zero"],
)
def test_degenerate_series_are_forecast_without_warnings(model, values):
    out = model(season_length=12).fit(_series(values)).predict(12)
    assert np.isfinite(out.to_numpy()).all()
