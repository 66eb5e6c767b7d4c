"""Every registered model against the forecaster contract (in the spirit of sktime's test_all_forecasters)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from estimator_checks import assert_params_stored_verbatim
from sklearn.base import BaseEstimator, clone

from forecast.errors import ModelNotApplicable, NotFittedError
from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster
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
}
# Benchmarks that model trend or season but not both; test_models.py checks each on its own case.
PICKLE_BYTES_LIMIT = 1_000_000
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


def _comparable(value):
    """Params in a form == can compare: estimators become (class, their params)."""
    if isinstance(value, BaseEstimator):
        return type(value), _comparable(value.get_params(deep=False))
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value), [_comparable(v) for v in value]
    return value


def test_every_model_has_an_accuracy_expectation():
    unclassified = set(LOCAL_MODELS) - set(TREND_SEASON_MAE_TOLERANCE) - BENCHMARKS
    assert not unclassified, f"add an accuracy expectation for {sorted(unclassified)}"


def test_init_stores_params_verbatim_and_clone_round_trips(name):
    model = _model(name)
    params = assert_params_stored_verbatim(model)
    cloned = clone(model)
    assert cloned is not model
    assert _comparable(cloned.get_params(deep=False)) == _comparable(params)


def test_fit_returns_self_and_sets_cutoff(name, monthly_series, monthly_exog):
    model = _model(name)
    assert model.fit(monthly_series, monthly_exog) is model
    assert model.cutoff_ == monthly_series.index[-1]
    assert model.freq_ == monthly_series.index.freq


@pytest.mark.parametrize("sign", [1, -1], ids=["positive", "negative"])
def test_predict_contract(name, sign, monthly_series, monthly_exog):
    y = sign * monthly_series  # balances are negative; some models switch method on the sign
    model = _model(name).fit(y, monthly_exog)
    out = model.predict(HORIZON, _future_exog(monthly_exog))

    assert list(out.columns) == PREDICTION_COLUMNS
    expected_index = pd.date_range("2015-01-01", periods=HORIZON, freq="MS")
    pd.testing.assert_index_equal(out.index, expected_index, check_names=False)
    assert np.isfinite(out.to_numpy()).all()
    assert (out["lo_95"] <= out["lo_80"]).all()
    assert (out["lo_80"] <= out["mean"]).all()
    assert (out["mean"] <= out["hi_80"]).all()
    assert (out["hi_80"] <= out["hi_95"]).all()
    assert ((out["hi_95"] - out["lo_95"]) > 0).mean() >= 0.75
    assert ((out["hi_80"] - out["lo_80"]) > 0).mean() >= 0.75


def test_predict_before_fit_raises(name):
    with pytest.raises(NotFittedError):
        _model(name).predict(HORIZON)


def test_two_fits_give_identical_forecasts(name, monthly_series, monthly_exog):
    X_future = _future_exog(monthly_exog)
    first = _model(name).fit(monthly_series, monthly_exog).predict(HORIZON, X_future)
    second = _model(name).fit(monthly_series, monthly_exog).predict(HORIZON, X_future)
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def test_update_moves_cutoff_and_forecasts_from_it(name, monthly_series, monthly_exog):
    model = _model(name).fit(monthly_series.iloc[:-6], monthly_exog.iloc[:-6])
    assert model.update(monthly_series, monthly_exog) is model
    assert model.cutoff_ == monthly_series.index[-1]
    out = model.predict(HORIZON, _future_exog(monthly_exog))
    assert out.index[0] == pd.Timestamp("2015-01-01")
    assert np.isfinite(out.to_numpy()).all()


def test_internal_gap_is_refused_or_handled(name, monthly_series, monthly_exog):
    y = monthly_series.copy()
    y.iloc[50:53] = np.nan
    model = _model(name)
    if not model.handles_missing:
        with pytest.raises(ModelNotApplicable, match="gaps"):
            model.fit(y, monthly_exog)
        return
    out = model.fit(y, monthly_exog).predict(HORIZON, _future_exog(monthly_exog))
    assert np.isfinite(out.to_numpy()).all()


def test_series_one_shorter_than_minimum_is_refused(name, monthly_series, monthly_exog):
    model = _model(name)
    n_min = model.min_train_length()
    with pytest.raises(ModelNotApplicable, match="observations"):
        model.fit(monthly_series.iloc[: n_min - 1], monthly_exog.iloc[: n_min - 1])


def test_series_of_minimum_length_is_forecast(name, monthly_series, monthly_exog):
    model = _model(name)
    n_min = model.min_train_length()
    y, X = monthly_series.iloc[:n_min], monthly_exog.iloc[:n_min]
    out = model.fit(y, X).predict(HORIZON, _future_exog(X))
    assert np.isfinite(out.to_numpy()).all()


def test_exog_model_without_future_exog_raises(name, monthly_series, monthly_exog):
    model = _model(name).fit(monthly_series, monthly_exog)
    if model.uses_exog:
        with pytest.raises(ValueError, match="X_future"):
            model.predict(HORIZON)
    else:
        assert np.isfinite(model.predict(HORIZON).to_numpy()).all()


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


def test_persistence_round_trip(name, monthly_series, monthly_exog, tmp_path):
    """The registered pyfunc ships fitted estimators with joblib: a reloaded one predicts the same."""
    import joblib

    model = _model(name)
    X = monthly_exog if model.uses_exog else None
    model.fit(monthly_series, X)
    X_future = _future_exog(monthly_exog) if model.uses_exog else None
    before = model.predict(HORIZON, X_future)
    joblib.dump(model, tmp_path / "m.joblib")
    after = joblib.load(tmp_path / "m.joblib").predict(HORIZON, X_future)
    pd.testing.assert_frame_equal(before, after)
    # Every registered champion lands in the MLflow store: a fitted model is its state, not the
    # fitting machinery's working arrays (a SARIMAX result with its smoother output was ~28 MB).
    assert (tmp_path / "m.joblib").stat().st_size < PICKLE_BYTES_LIMIT


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
