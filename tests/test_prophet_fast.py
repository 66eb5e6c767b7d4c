"""ProphetForecaster's numpy path (forecast/models/prophet_fast.py) against Prophet's public API.

The fast path rebuilds Prophet's Stan input and forecast arithmetic; each case here fits Prophet
itself (``fit`` / ``predict`` / ``predictive_samples``) on the same data and requires the same MAP
parameters, mean and interval bounds. A prophet upgrade that changes any of those steps fails here.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import prophet
import pytest

from forecast.models import prophet_fast
from forecast.models.prophet_model import _SAMPLE_QUANTILES, Prophet, ProphetForecaster

HORIZON = 12
# Same Stan input text, same binary, same output file: the parameters agree exactly. The mean and
# samples follow Prophet's arithmetic but not its memory layout (BLAS may sum in another order).
MEAN_RTOL = 1e-10


def _prophet_reference(
    y: pd.Series,
    X: pd.DataFrame | None,
    yearly,
    init=None,
    horizon=HORIZON,
    X_future: pd.DataFrame | None = None,
    samples: int = 500,
):
    """Prophet's own fit, mean and sample quantiles, configured as ProphetForecaster configures it."""
    model = Prophet(
        yearly_seasonality=yearly,
        weekly_seasonality=False,
        daily_seasonality=False,
        changepoint_prior_scale=0.05,
        uncertainty_samples=samples,
    )
    frame = pd.DataFrame({"ds": y.index, "y": y.to_numpy()})
    for column in [] if X is None else X.columns:
        model.add_regressor(column)
        frame[column] = X[column].to_numpy()
    kwargs = {"algorithm": "LBFGS", "seed": 0} | ({"init": init} if init is not None else {})
    model.fit(frame, **kwargs)
    future = pd.DataFrame({"ds": pd.date_range(y.index[-1], periods=horizon + 1, freq=y.index.freq)[1:]})
    for column in [] if X_future is None else X_future.columns:
        future[column] = X_future[column].to_numpy()
    model.uncertainty_samples = 0
    mean = model.predict(future)["yhat"].to_numpy()
    model.uncertainty_samples = samples
    np.random.seed(0)
    draws = model.predictive_samples(future)["yhat"]
    bounds = dict(zip(_SAMPLE_QUANTILES, np.quantile(draws, list(_SAMPLE_QUANTILES.values()), axis=1)))
    return model, mean, bounds


def _assert_same_as_prophet(ours: ProphetForecaster, reference, X_future=None):
    model, mean, bounds = reference
    for name in prophet_fast._PARAMS:
        np.testing.assert_array_equal(ours.fit_.params[name], model.params[name], err_msg=name)
    assert ours.fit_.y_scale == model.y_scale
    np.testing.assert_array_equal(ours.fit_.changepoints_t, model.changepoints_t)
    pred = ours.predict(HORIZON, X_future)
    np.testing.assert_allclose(pred["mean"], mean, rtol=MEAN_RTOL)
    for column, values in bounds.items():
        # ``predict`` nests the bounds around the mean; Prophet's samples are nowhere near crossing.
        np.testing.assert_allclose(pred[column], values, rtol=MEAN_RTOL)


def _future_exog(X: pd.DataFrame) -> pd.DataFrame:
    index = pd.date_range(X.index[-1], periods=HORIZON + 1, freq=X.index.freq)[1:]
    return pd.DataFrame({c: np.linspace(X[c].iloc[-1], X[c].iloc[-1] * 1.01, HORIZON) for c in X.columns}, index=index)


def test_prophet_version_is_the_one_the_fast_path_reproduces():
    # prophet_fast mirrors prophet 1.5.0's forecaster.py and models.py step by step; the cases below
    # check the result, and this line makes an upgrade a deliberate act (re-read those two files).
    assert prophet.__version__ == "1.5.0"


@pytest.mark.parametrize("yearly", [True, 3])
def test_monthly_series_matches_prophet(monthly_series, yearly):
    ours = ProphetForecaster(yearly_seasonality=yearly).fit(monthly_series)
    _assert_same_as_prophet(ours, _prophet_reference(monthly_series, None, yearly))


def test_extra_regressors_match_prophet(monthly_series, monthly_exog):
    # A standardised regressor, a binary and a constant one (Prophet leaves those two unscaled).
    X = monthly_exog.assign(flag=(np.arange(len(monthly_exog)) % 5 == 0).astype(float), level=2.0)
    X_future = _future_exog(X).assign(flag=np.r_[1.0, np.zeros(HORIZON - 1)])
    ours = ProphetForecaster().fit(monthly_series, X)
    assert [r[1:] for r in ours.fit_.regressors[1:]] == [(0.0, 1.0), (0.0, 1.0)]
    _assert_same_as_prophet(ours, _prophet_reference(monthly_series, X, True, X_future=X_future), X_future)


def test_gaps_match_prophet_fitted_on_the_observed_rows(monthly_series, monthly_exog):
    y = monthly_series.copy()
    y.iloc[[3, 40, 41, 42, 90, -1]] = np.nan  # the last period too: the forecast starts after it
    X_future = _future_exog(monthly_exog)
    ours = ProphetForecaster().fit(y, monthly_exog)
    _assert_same_as_prophet(ours, _prophet_reference(y, monthly_exog, True, X_future=X_future), X_future)


def test_annual_series_without_seasonality_matches_prophet():
    # Twelve points: fewer than 25 changepoints, and no seasonal term at all (Prophet's zero column).
    y = pd.Series(
        50 + 3.0 * np.arange(12) + np.sin(np.arange(12)), index=pd.date_range("2010", periods=12, freq="YS-JAN")
    )
    ours = ProphetForecaster(season_length=1).fit(y)
    assert ours.fit_.fourier_order == 0 and len(ours.fit_.changepoints_t) == 8
    _assert_same_as_prophet(ours, _prophet_reference(y, None, False))


def test_warm_start_matches_prophet_fit_from_the_same_init(monthly_series):
    ours = ProphetForecaster().fit(monthly_series.iloc[:-6])
    init = ours.fit_.stan_init()
    ours.warm_fit(monthly_series)
    _assert_same_as_prophet(ours, _prophet_reference(monthly_series, None, True, init=init))


def test_constant_series_matches_prophet_without_stan(monthly_series):
    y = pd.Series(7.0, index=monthly_series.index)
    _assert_same_as_prophet(ProphetForecaster().fit(y), _prophet_reference(y, None, True))


def test_one_step_horizon_samples_use_the_history_spacing(monthly_series):
    # With one future row Prophet takes the trend step from the history instead of the future.
    ours = ProphetForecaster().fit(monthly_series)
    _, mean, bounds = _prophet_reference(monthly_series, None, True, horizon=1)
    pred = ours.predict(1)
    np.testing.assert_allclose(pred["mean"], mean, rtol=MEAN_RTOL)
    np.testing.assert_allclose(pred["hi_95"], bounds["hi_95"], rtol=MEAN_RTOL)


def test_fourier_rows_do_not_depend_on_the_other_dates():
    # The per-date cache relies on Prophet computing each row from its own date.
    dates = pd.date_range("1990-01-01", periods=400, freq="MS")
    whole = Prophet.fourier_series(pd.Series(dates), prophet_fast.YEARLY_PERIOD, 10)
    part = Prophet.fourier_series(pd.Series(dates[::7]), prophet_fast.YEARLY_PERIOD, 10)
    np.testing.assert_array_equal(whole[::7], part)
    prophet_fast._FOURIER_ROWS.clear()
    cold, _ = prophet_fast._fourier(dates[::7], 10)
    warm, _ = prophet_fast._fourier(dates[::7], 10)
    np.testing.assert_array_equal(cold, whole[::7])
    np.testing.assert_array_equal(warm, whole[::7])


def test_fitted_model_pickles_and_predicts_the_same(monthly_series, monthly_exog):
    X_future = _future_exog(monthly_exog)
    model = ProphetForecaster().fit(monthly_series, monthly_exog)
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(restored.predict(HORIZON, X_future), model.predict(HORIZON, X_future))


def _backend(newton_fallback: bool):
    backend = Prophet().stan_backend
    backend.set_options(newton_fallback=newton_fallback)
    return backend


def test_failed_stan_run_falls_back_to_newton_as_prophet_does(monthly_series):
    # An algorithm name the binary rejects makes the first run fail, as a failed L-BFGS run would.
    y = monthly_series
    ours = prophet_fast.fit_map(y.index, y.to_numpy(), None, [], True, 0.05, _backend(True), algorithm="bogus", seed=0)
    newton = Prophet(yearly_seasonality=True, weekly_seasonality=False, daily_seasonality=False)
    newton.fit(pd.DataFrame({"ds": y.index, "y": y.to_numpy()}), algorithm="Newton", seed=0)
    for name in prophet_fast._PARAMS:
        np.testing.assert_array_equal(ours.params[name], newton.params[name], err_msg=name)


def test_failed_stan_run_raises_without_newton_fallback(monthly_series):
    y = monthly_series
    with pytest.raises(RuntimeError, match="Prophet's Stan model failed"):
        prophet_fast.fit_map(y.index, y.to_numpy(), None, [], True, 0.05, _backend(False), algorithm="bogus", seed=0)


def test_forecast_arithmetic_matches_prophet_on_its_own_fit(monthly_series, monthly_exog):
    # The predict side alone: Prophet's fitted state, our numpy mean and samples.
    X_future = _future_exog(monthly_exog)
    model, mean, bounds = _prophet_reference(monthly_series, monthly_exog, True, X_future=X_future)
    fit = prophet_fast.ProphetFit.from_prophet(model)
    rows = prophet_fast.design(
        fit, pd.date_range(monthly_series.index[-1], periods=HORIZON + 1, freq="MS")[1:], X_future.to_numpy()
    )
    np.testing.assert_allclose(prophet_fast.point_forecast(fit, rows), mean, rtol=MEAN_RTOL)
    np.random.seed(0)
    draws = prophet_fast.predictive_samples(fit, rows, 500)
    np.testing.assert_allclose(np.quantile(draws, 0.975, axis=1), bounds["hi_95"], rtol=MEAN_RTOL)


def test_forecaster_pickled_with_a_prophet_object_still_predicts(monthly_series):
    # Champions logged before the numpy path pickled the fitted Prophet as ``model_``.
    current = ProphetForecaster().fit(monthly_series)
    old_state = {k: v for k, v in current.__dict__.items() if k != "fit_"}
    old_state["model_"] = _prophet_reference(monthly_series, None, True)[0]
    restored = ProphetForecaster.__new__(ProphetForecaster)
    restored.__setstate__(old_state)
    pd.testing.assert_frame_equal(restored.predict(HORIZON), current.predict(HORIZON), rtol=MEAN_RTOL)
