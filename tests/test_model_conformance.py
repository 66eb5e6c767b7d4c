"""Every registered model against the forecaster contract (in the spirit of sktime's test_all_forecasters)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.checks import forecaster_checks
from forecast.models.base import BaseForecaster
from forecast.models.registry import available_models, is_global_model, make_model

SEASON = 12
HORIZON = 12

# Mean absolute error allowed on 12 steps of a noise-sd-1 series with slope 1.5 and seasonal amplitude
# 20. Seasonal naive misses by 18 and drift by ~15, so every bound below is a real test.
TREND_SEASON_MAE_TOLERANCE: dict[str, float] = {
    "sarimax": 1.5,
    "prophet": 1.5,
    "gbm": 2.5,
    "ets": 4.0,  # the damped trend flattens the slope over the horizon
    # Theta(2) extrapolates half the OLS slope by construction: ~1.5 * 6.5 / 2 = 4.9 on average.
    "theta": 8.0,
    "ensemble": 8.0,  # default members ets, theta, seasonal naive: the median sits near theta
    "local_trend": 1.5,  # random walk with drift plus a fixed seasonal pattern
    "trend_regression": 1.5,  # linear trend plus Fourier terms: the true model here
    "dollar_volume": 4.0,  # without an FX column it is its base model (ETS by default)
    "theta_m4": 8.0,  # classic Theta on the seasonally adjusted series: half the slope, as "theta"
    "auto_ets": 4.0,  # additive damped trend and season: the damping flattens the slope, as "ets"
    "auto_arima": 1.5,  # ARIMA(0,1,1) with drift on the adjusted series
    "auto_theta": 1.5,  # DOTM: theta is estimated, so the whole slope is extrapolated
    "ces": 4.0,  # complex smoothing keeps most, not all, of the slope
    "stl_ets": 4.0,  # damped ETS on the adjusted series, as "ets"
}
# Benchmarks that model trend or season but not both; test_models.py checks each on its own case.
BENCHMARKS = {"naive", "seasonal_naive", "drift", "naive2"}


# Small fits run as in the engine's tasks: one BLAS/OpenMP thread (see conftest.one_blas_thread).
pytestmark = pytest.mark.usefixtures("one_blas_thread")


# Global (cross-series) models fit a panel, not one series: tests/test_global_models.py runs them
# through the global contract.
LOCAL_MODELS = [name for name in available_models() if not is_global_model(name)]


@pytest.fixture(params=LOCAL_MODELS)
def name(request) -> str:
    return request.param


def _model(name: str) -> BaseForecaster:
    return make_model(name, season_length=SEASON)


def _future_exog(X: pd.DataFrame, horizon: int = HORIZON) -> pd.DataFrame:
    index = pd.date_range(X.index[-1], periods=horizon + 1, freq=X.index.freq)[1:]
    return pd.DataFrame({c: np.full(horizon, X[c].iloc[-1]) for c in X.columns}, index=index)


@pytest.mark.parametrize("check", forecaster_checks(), ids=lambda check: check.__name__)
def test_the_shipped_contract_checks(name, check):
    """forecast/checks.py: the same checks a user runs on a model of their own."""
    check(lambda season_length: make_model(name, season_length))


def test_every_model_has_an_accuracy_expectation():
    unclassified = set(LOCAL_MODELS) - set(TREND_SEASON_MAE_TOLERANCE) - BENCHMARKS
    assert not unclassified, f"add an accuracy expectation for {sorted(unclassified)}"


def test_trend_and_season_are_tracked(name):
    if name in BENCHMARKS:
        pytest.skip("benchmark models are checked against their own exact cases in test_models.py")
    rng = np.random.default_rng(7)
    n_train = 120
    t = np.arange(n_train + HORIZON)
    truth = -(200 + 1.5 * t + 20 * np.sin(2 * np.pi * t / SEASON))
    index = pd.date_range("2005-01-01", periods=n_train, freq="MS")
    y = pd.Series(truth[:n_train] + rng.normal(0, 1, n_train), index=index)
    mean = _model(name).fit(y).predict(HORIZON)["mean"].to_numpy()
    assert np.mean(np.abs(mean - truth[n_train:])) < TREND_SEASON_MAE_TOLERANCE[name]


@pytest.mark.parametrize("freq, season_length", [("QS-JAN", 4), ("YS-JAN", 1)])
def test_quarterly_and_annual_series_are_forecast(name, freq, season_length):
    n = max(make_model(name, season_length).min_train_length(), 40)
    rng = np.random.default_rng(3)
    t = np.arange(n)
    seasonal = 5 * np.sin(2 * np.pi * t / season_length) if season_length > 1 else 0.0
    index = pd.date_range("1980-01-01", periods=n, freq=freq)
    y = pd.Series(-(100 + 2 * t + seasonal) + rng.normal(0, 2, n), index=index)
    out = make_model(name, season_length).fit(y).predict(8)
    assert out.index[0] == y.index[-1] + y.index.freq
    assert np.isfinite(out.to_numpy()).all()


def test_persistence_round_trip_after_update(name, monthly_series, monthly_exog, tmp_path):
    """A model updated with new observations (SARIMAX's ``extend`` keeps only the new periods'
    filter) reloads to the same forecasts, and updates again as the original does."""
    import joblib

    model = _model(name)
    X = monthly_exog if model.uses_exog else None
    n = len(monthly_series)
    model.fit(monthly_series.iloc[: n - 6], None if X is None else X.iloc[: n - 6])
    model.update(monthly_series.iloc[: n - 3], None if X is None else X.iloc[: n - 3])
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    model.update(monthly_series, X)
    loaded.update(monthly_series, X)
    X_future = _future_exog(monthly_exog) if model.uses_exog else None
    pd.testing.assert_frame_equal(model.predict(HORIZON, X_future), loaded.predict(HORIZON, X_future))


def test_update_refuses_changed_exog_columns(name, monthly_series, monthly_exog):
    model = _model(name)
    if not model.uses_exog:
        pytest.skip("model reads no exogenous regressors")
    model.fit(monthly_series.iloc[:-6], monthly_exog.iloc[:-6])
    with pytest.raises(ValueError, match="exogenous columns"):
        model.update(monthly_series, None)


@pytest.mark.parametrize("name", available_models())
def test_every_model_derives_from_the_root_class_and_declares_its_kind_by_tags(name):
    """Studies and the backtest read what a model is from its tags, never from its name."""
    from forecast.models.base import TAGS, Forecaster
    from forecast.models.global_base import GlobalForecaster
    from forecast.models.registry import MODEL_REGISTRY, model_tags

    cls = MODEL_REGISTRY[name]
    assert issubclass(cls, Forecaster)
    tags = model_tags(name)
    assert set(tags) <= set(TAGS) and {"is_global", "is_combination"} <= set(tags)
    assert tags["is_global"] == issubclass(cls, GlobalForecaster)
    assert tags["is_combination"] == (name == "ensemble")  # the one combination shipped today
    instance = make_model(name, SEASON)
    for tag in TAGS:  # on an instance every tag is a bool, a combination's included
        assert isinstance(getattr(instance, tag), bool), (name, tag)
