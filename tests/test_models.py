"""Model-specific behaviour: closed-form benchmarks, state updates, conformal intervals, combination, registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX

from features.errors import ConfigError
from forecast.errors import ModelNotApplicable, UnknownModelError
from forecast.models.conformal import conformal_quantile
from forecast.models.ensemble import EnsembleForecaster
from forecast.models.ets import ETSForecaster
from forecast.models.gbm import GradientBoostingForecaster
from forecast.models.naive import DriftForecaster, NaiveForecaster, SeasonalNaiveForecaster
from forecast.models.prophet_model import ProphetForecaster
from forecast.models.registry import available_models, make_model, model_uses_exog
from forecast.models.sarimax import SARIMAXForecaster
from forecast.models.theta import ThetaForecaster

Z80 = norm.ppf(0.9)


# Small fits run as in the engine's tasks: one BLAS/OpenMP thread (see conftest.one_blas_thread).
pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _future_exog(X: pd.DataFrame, horizon: int) -> pd.DataFrame:
    index = pd.date_range(X.index[-1], periods=horizon + 1, freq=X.index.freq)[1:]
    return pd.DataFrame({c: np.full(horizon, X[c].iloc[-1]) for c in X.columns}, index=index)


# ---- benchmarks: closed forms ------------------------------------------------------------------
def test_naive_repeats_last_value_with_sqrt_h_widths(monthly_series):
    out = NaiveForecaster().fit(monthly_series).predict(9)
    assert (out["mean"] == monthly_series.iloc[-1]).all()
    sigma = np.sqrt(np.mean(np.diff(monthly_series.to_numpy()) ** 2))
    np.testing.assert_allclose(out["hi_80"] - out["mean"], Z80 * sigma * np.sqrt(np.arange(1, 10)))


def test_seasonal_naive_repeats_last_season_exactly(monthly_series):
    out = SeasonalNaiveForecaster(season_length=12).fit(monthly_series).predict(24)
    np.testing.assert_array_equal(out["mean"].to_numpy(), np.tile(monthly_series.to_numpy()[-12:], 2))
    halfwidth = (out["hi_80"] - out["mean"]).to_numpy()
    # Width grows only once per completed season: sqrt(1) for h=1..12, sqrt(2) for h=13..24.
    np.testing.assert_allclose(halfwidth[:12], halfwidth[0])
    np.testing.assert_allclose(halfwidth[12:], halfwidth[0] * np.sqrt(2))


def test_seasonal_naive_with_season_one_equals_naive(monthly_series):
    seasonal = SeasonalNaiveForecaster(season_length=1).fit(monthly_series).predict(6)
    naive = NaiveForecaster().fit(monthly_series).predict(6)
    pd.testing.assert_frame_equal(seasonal, naive)


def test_drift_slope_is_first_to_last_over_t_minus_one(monthly_series):
    y = monthly_series.to_numpy()
    slope = (y[-1] - y[0]) / (len(y) - 1)
    out = DriftForecaster().fit(monthly_series).predict(12)
    np.testing.assert_allclose(out["mean"].to_numpy(), y[-1] + slope * np.arange(1, 13))


def test_drift_is_exact_on_a_straight_line():
    index = pd.date_range("2000-01-01", periods=40, freq="MS")
    line = pd.Series(-50.0 - 3.0 * np.arange(40), index=index)
    out = DriftForecaster().fit(line).predict(5)
    np.testing.assert_allclose(out["mean"].to_numpy(), -50.0 - 3.0 * np.arange(40, 45))


# ---- statsmodels models: update keeps parameters -----------------------------------------------
def test_sarimax_update_appends_without_reestimating(monthly_series, monthly_exog):
    model = SARIMAXForecaster().fit(monthly_series.iloc[:-6], monthly_exog.iloc[:-6])
    params = model.result_.params.copy()
    model.update(monthly_series, monthly_exog)
    pd.testing.assert_series_equal(model.result_.params, params)

    X_future = _future_exog(monthly_exog, 12)
    fresh = SARIMAX(monthly_series, exog=monthly_exog, order=(1, 1, 1), seasonal_order=(0, 1, 1, 12))
    expected = fresh.filter(params).get_forecast(12, exog=X_future)
    out = model.predict(12, X_future)
    np.testing.assert_allclose(out["mean"].to_numpy(), expected.predicted_mean.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(out["lo_95"].to_numpy(), expected.conf_int(alpha=0.05).iloc[:, 0], rtol=1e-9)


def test_sarimax_update_refits_when_history_was_revised(monthly_series):
    model = SARIMAXForecaster().fit(monthly_series.iloc[:-6])
    params = model.result_.params.copy()
    revised = monthly_series.copy()
    revised.iloc[10] += 50.0  # a revised past value: appending would filter stale data
    model.update(revised)
    assert not np.allclose(model.result_.params, params)
    assert model.cutoff_ == revised.index[-1]


def test_sarimax_without_season_drops_seasonal_part(monthly_series):
    model = SARIMAXForecaster(season_length=1).fit(monthly_series)
    assert model.result_.model.seasonal_order == (0, 0, 0, 0)


def test_ets_update_smooths_with_the_fitted_parameters(monthly_series):
    model = ETSForecaster().fit(monthly_series.iloc[:-6])
    params = np.asarray(model.result_.params).copy()
    model.update(monthly_series)
    np.testing.assert_array_equal(np.asarray(model.result_.params), params)

    fresh = ETSModel(
        monthly_series, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12
    ).smooth(params)
    n = len(monthly_series)
    expected = fresh.get_prediction(start=n, end=n + 11).summary_frame(alpha=0.05)
    out = model.predict(12)
    np.testing.assert_allclose(out["mean"].to_numpy(), expected["mean"].to_numpy())
    np.testing.assert_allclose(out["hi_95"].to_numpy(), expected["pi_upper"].to_numpy())


def test_ets_without_season_has_no_seasonal_component(monthly_series):
    model = ETSForecaster(season_length=1).fit(monthly_series)
    assert model.result_.model.seasonal is None
    assert model.min_train_length() < ETSForecaster(season_length=12).min_train_length()


def test_theta_uses_additive_adjustment_for_negative_series(monthly_series):
    model = ThetaForecaster().fit(-monthly_series)
    assert model.result_.model.method == "add"


# ---- prophet -----------------------------------------------------------------------------------
def test_prophet_leaves_the_global_rng_untouched(monthly_series):
    model = ProphetForecaster().fit(monthly_series)
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    model.predict(12)
    assert np.random.rand() == expected


def test_prophet_warm_start_update_matches_cold_refit(monthly_series, monthly_exog):
    X_future = _future_exog(monthly_exog, 12)
    warm = ProphetForecaster(warm_start=True).fit(monthly_series.iloc[:-6], monthly_exog.iloc[:-6])
    warm.update(monthly_series, monthly_exog)
    cold = ProphetForecaster().fit(monthly_series, monthly_exog)
    # The same MAP problem from a different start: L-BFGS stops within its tolerance of the optimum
    # (the largest relative difference measured was 1.2e-3).
    np.testing.assert_allclose(warm.predict(12, X_future)["mean"], cold.predict(12, X_future)["mean"], rtol=5e-3)


# ---- gradient boosting -------------------------------------------------------------------------
def test_conformal_quantile_uses_the_finite_sample_rank():
    errors = np.arange(1.0, 25.0)  # n = 24
    assert conformal_quantile(errors, 0.80) == 20.0  # ceil(25 * 0.8) = 20
    assert conformal_quantile(errors, 0.95) == 24.0  # ceil(25 * 0.95) = 24
    assert conformal_quantile(errors[:10], 0.95) == 10.0  # ceil(11 * 0.95) = 11 > n: capped at the max
    assert np.isnan(conformal_quantile(np.array([]), 0.8))


def _trend_season_noise(seed: int, n: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = -(100 + 0.8 * t + 15 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 3, n)
    return pd.Series(y, index=pd.date_range("1996-01-01", periods=n, freq="MS"))


def test_gbm_widths_do_not_shrink_with_horizon_and_reuse_the_last_beyond_calibration():
    model = GradientBoostingForecaster(calibration_window=12).fit(_trend_season_noise(0, 150))
    out = model.predict(18)
    halfwidth = (out["hi_95"] - out["mean"]).to_numpy()
    assert np.all(np.diff(halfwidth) >= -1e-9)
    np.testing.assert_allclose(halfwidth[12:], halfwidth[11])


def test_gbm_conformal_coverage_is_roughly_nominal():
    # 10 origins x 12 horizons on a trend + season + noise series; the hits are correlated across
    # horizons, so only gross miscalibration is detectable (measured: 0.79-0.93 and 0.96-0.99).
    y = _trend_season_noise(3, 220)
    hits = {80: [], 95: []}
    for origin in range(150, 210, 6):
        out = GradientBoostingForecaster(max_iter=100).fit(y.iloc[:origin]).predict(12)
        actual = y.iloc[origin : origin + 12].to_numpy()
        for level in hits:
            hits[level].extend((actual >= out[f"lo_{level}"]) & (actual <= out[f"hi_{level}"]))
    assert 0.65 <= np.mean(hits[80]) <= 0.97
    assert 0.85 <= np.mean(hits[95])


def _season_plus_slope(n: int, slope: float) -> pd.Series:
    t = np.arange(n)
    pattern = np.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0, 2.0, -6.0, 5.0, 3.0, -5.0, 0.0])
    return pd.Series(slope * t + 10 * pattern[t % 12], index=pd.date_range("2000-01-01", periods=n, freq="MS"))


def test_gbm_on_seasonal_differences_carries_the_season_from_a_year_back():
    # An irregular pattern repeated exactly plus a straight line: every 12-month difference is
    # 12 x slope, so the trees need learn one constant, and the forecast is last year's month
    # plus a year's growth. On first differences the trees would have to learn the pattern itself.
    y = _season_plus_slope(150, 0.5)
    out = GradientBoostingForecaster().fit(y).predict(18)
    expected = _season_plus_slope(168, 0.5).iloc[150:].to_numpy()
    np.testing.assert_allclose(out["mean"].to_numpy(), expected, atol=1e-9)
    first = GradientBoostingForecaster(difference_lag=1).fit(y).predict(18)
    assert np.abs(first["mean"].to_numpy() - expected).max() > 1.0


@pytest.mark.parametrize("lag", [1, 12])
def test_gbm_continues_a_straight_line_at_either_differencing_lag(lag):
    y = pd.Series(2.0 * np.arange(150.0), index=pd.date_range("2000-01-01", periods=150, freq="MS"))
    out = GradientBoostingForecaster(difference_lag=lag).fit(y).predict(6)
    np.testing.assert_allclose(out["mean"].to_numpy(), 2.0 * np.arange(150, 156), atol=1e-9)


def test_gbm_is_not_applicable_when_the_level_a_season_back_is_missing():
    y = _trend_season_noise(1, 150)
    y.iloc[-12] = np.nan  # the level the first forecast month is built on
    model = GradientBoostingForecaster().fit(y)
    with pytest.raises(ModelNotApplicable, match="12 periods before"):
        model.predict(3)
    # first differences need only the last observed value
    assert np.isfinite(GradientBoostingForecaster(difference_lag=1).fit(y).predict(3).to_numpy()).all()


def test_gbm_forecasts_across_a_trailing_gap():
    y = _trend_season_noise(1, 150)
    y.iloc[-3:] = np.nan
    out = GradientBoostingForecaster().fit(y).predict(6)
    assert out.index[0] == y.index[-1] + pd.DateOffset(months=1)
    assert np.isfinite(out.to_numpy()).all()


# ---- ensemble ----------------------------------------------------------------------------------
MEMBERS = [NaiveForecaster(), DriftForecaster(), SeasonalNaiveForecaster(season_length=12)]


@pytest.mark.parametrize("method, combine", [("median", np.median), ("mean", np.mean)])
def test_ensemble_combines_each_column_across_members(monthly_series, method, combine):
    members = [m.fit(monthly_series).predict(12) for m in MEMBERS]
    ensemble = EnsembleForecaster([(type(m).__name__, m) for m in MEMBERS], method=method)
    out = ensemble.fit(monthly_series).predict(12)
    expected = combine(np.stack([f.to_numpy() for f in members]), axis=0)
    np.testing.assert_allclose(out[members[0].columns].to_numpy(), expected)


def test_ensemble_tags_follow_members():
    with_exog = EnsembleForecaster([("naive", NaiveForecaster()), ("sarimax", SARIMAXForecaster())])
    assert with_exog.uses_exog
    assert not with_exog.handles_missing  # naive cannot take gaps
    assert with_exog.min_train_length() == SARIMAXForecaster().min_train_length()


def test_ensemble_passes_exog_only_to_members_that_read_it(monthly_series, monthly_exog):
    ensemble = EnsembleForecaster([("drift", DriftForecaster()), ("sarimax", SARIMAXForecaster())])
    ensemble.fit(monthly_series, monthly_exog)
    drift, sarimax = (member for _, member in ensemble.members_)
    assert drift.exog_columns_ == []
    assert sarimax.exog_columns_ == ["usdjpy_log"]


# ---- registry ----------------------------------------------------------------------------------
def test_registry_lists_every_model():
    assert available_models() == [
        "naive",
        "seasonal_naive",
        "drift",
        "ets",
        "sarimax",
        "theta",
        "prophet",
        "gbm",
        "ensemble",
        "naive2",
        "theta_m4",
        "local_trend",
        "trend_regression",
        "dollar_volume",
        "auto_ets",
        "stl_ets",
        "auto_theta",
        "ces",
        "auto_arima",
        "pooled_ridge",
        "pooled_mlp",
    ]


def test_make_model_passes_season_length_only_where_accepted():
    assert make_model("theta", season_length=4).season_length == 4
    assert isinstance(make_model("naive", season_length=4), NaiveForecaster)
    assert make_model("gbm", 12, {"n_lags": 6}).n_lags == 6


def test_make_model_rejects_unknown_names_and_params():
    with pytest.raises(UnknownModelError, match="unknown model 'arima'; known: naive"):
        make_model("arima", 12)
    with pytest.raises(ConfigError, match="no parameter"):
        make_model("ets", 12, {"alpha": 0.3})
    with pytest.raises(ConfigError, match="method"):
        make_model("ensemble", 12, {"method": "max"})


def test_make_model_builds_ensemble_members_by_name():
    ensemble = make_model("ensemble", 4, {"members": ["drift", "sarimax"], "method": "mean"})
    assert [name for name, _ in ensemble.estimators] == ["drift", "sarimax"]
    assert ensemble.estimators[1][1].season_length == 4
    assert ensemble.method == "mean"


def test_model_uses_exog_reads_the_tag():
    assert model_uses_exog("sarimax")
    assert not model_uses_exog("ets")
    assert not model_uses_exog("ensemble")
    assert model_uses_exog("ensemble", {"members": ["ets", "prophet"]})
