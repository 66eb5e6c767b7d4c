"""The local forecaster contract as runnable checks, for the registered models and for yours.

Like scikit-learn's ``parametrize_with_checks`` and sktime's ``check_estimator``: every check
builds a fresh model from ``make`` (a function of the season length), runs it on a deterministic
synthetic series and raises AssertionError naming what broke. Use them from pytest::

    @pytest.mark.parametrize("check", forecaster_checks(), ids=lambda c: c.__name__)
    def test_my_model(check):
        check(lambda season_length: MyForecaster(season_length=season_length))

or all at once with :func:`check_forecaster`. Model-specific expectations (accuracy on a known
process) stay in the model's own tests.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from forecast.errors import ModelNotApplicable, NotFittedError
from forecast.models.base import PREDICTION_COLUMNS, TAGS, BaseForecaster

Make = Callable[[int], BaseForecaster]
SEASON, HORIZON = 12, 12
PICKLE_BYTES_LIMIT = 1_000_000  # a fitted model is its state, not the fitting machinery's arrays


def _series(n: int = 120) -> tuple[pd.Series, pd.DataFrame]:
    """``n`` months from 2005-01 of trend + yearly season + noise, and a log-FX-like regressor."""
    index = pd.date_range("2005-01-01", periods=n, freq="MS")
    t = np.arange(n)
    y = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 2, n)
    x = np.log(110 + np.cumsum(np.random.default_rng(1).normal(0, 1, n)))
    return pd.Series(y, index=index, name="y"), pd.DataFrame({"usdjpy_log": x}, index=index)


def _future(X: pd.DataFrame, horizon: int = HORIZON) -> pd.DataFrame:
    index = pd.date_range(X.index[-1], periods=horizon + 1, freq=X.index.freq)[1:]
    return pd.DataFrame({c: np.full(horizon, X[c].iloc[-1]) for c in X.columns}, index=index)


def _comparable(value):
    """Params in a form == can compare: estimators become (class, their params)."""
    if isinstance(value, BaseEstimator):
        return type(value), _comparable(value.get_params(deep=False))
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value), [_comparable(v) for v in value]
    return value


def check_params_stored_verbatim(make: Make) -> None:
    """``__init__`` stores each parameter as given; ``clone`` rebuilds an equal model."""
    model = make(SEASON)
    params = model.get_params(deep=False)
    rebuilt = type(model)(**params)
    for key, value in params.items():
        assert rebuilt.get_params(deep=False)[key] is value, f"__init__ changed parameter {key!r}"
    cloned = clone(model)
    assert cloned is not model and _comparable(cloned.get_params(deep=False)) == _comparable(params)


def check_tags(make: Make) -> None:
    """Every capability tag is a bool on an instance (what the backtest and studies read)."""
    model = make(SEASON)
    for tag in TAGS:
        assert isinstance(getattr(model, tag), bool), f"tag {tag} is not a bool"


def check_fit_returns_self_and_sets_cutoff(make: Make) -> None:
    y, X = _series()
    model = make(SEASON)
    assert model.fit(y, X) is model, "fit must return self"
    assert model.cutoff_ == y.index[-1] and model.freq_ == y.index.freq


def check_predict_contract(make: Make) -> None:
    """Columns, the horizon's index, finite values, nested bounds, for a positive and a negative series."""
    for sign in (1, -1):  # balances are negative; some models switch method on the sign
        y, X = _series()
        out = make(SEASON).fit(sign * y, X).predict(HORIZON, _future(X))
        assert list(out.columns) == PREDICTION_COLUMNS
        expected = pd.date_range("2015-01-01", periods=HORIZON, freq="MS")
        pd.testing.assert_index_equal(out.index, expected, check_names=False)
        assert np.isfinite(out.to_numpy()).all(), "non-finite forecast"
        for lower, upper in (("lo_95", "lo_80"), ("lo_80", "mean"), ("mean", "hi_80"), ("hi_80", "hi_95")):
            assert (out[lower] <= out[upper]).all(), f"{lower} > {upper}"
        for level in (80, 95):
            assert ((out[f"hi_{level}"] - out[f"lo_{level}"]) > 0).mean() >= 0.75, f"{level}% interval collapsed"


def check_predict_before_fit_raises(make: Make) -> None:
    try:
        make(SEASON).predict(HORIZON)
    except NotFittedError:
        return
    raise AssertionError("predict before fit must raise NotFittedError")


def check_fits_are_deterministic(make: Make) -> None:
    y, X = _series()
    first = make(SEASON).fit(y, X).predict(HORIZON, _future(X))
    second = make(SEASON).fit(y, X).predict(HORIZON, _future(X))
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def check_update_moves_the_cutoff(make: Make) -> None:
    y, X = _series()
    model = make(SEASON).fit(y.iloc[:-6], X.iloc[:-6])
    assert model.update(y, X) is model, "update must return self"
    out = model.predict(HORIZON, _future(X))
    assert model.cutoff_ == y.index[-1] and out.index[0] == pd.Timestamp("2015-01-01")
    assert np.isfinite(out.to_numpy()).all()


def check_gaps_follow_the_handles_missing_tag(make: Make) -> None:
    y, X = _series()
    y.iloc[50:53] = np.nan
    model = make(SEASON)
    if not model.handles_missing:
        try:
            model.fit(y, X)
        except ModelNotApplicable as exc:
            assert "gaps" in str(exc)
            return
        raise AssertionError("a model without handles_missing must refuse a series with gaps")
    assert np.isfinite(model.fit(y, X).predict(HORIZON, _future(X)).to_numpy()).all()


def check_min_train_length_is_exact(make: Make) -> None:
    """One observation fewer than ``min_train_length()`` is refused; exactly that many is forecast."""
    y, X = _series()
    n_min = make(SEASON).min_train_length()
    try:
        make(SEASON).fit(y.iloc[: n_min - 1], X.iloc[: n_min - 1])
    except ModelNotApplicable as exc:
        assert "observations" in str(exc)
    else:
        raise AssertionError(f"{n_min - 1} observations should be refused (min_train_length {n_min})")
    out = make(SEASON).fit(y.iloc[:n_min], X.iloc[:n_min]).predict(HORIZON, _future(X.iloc[:n_min]))
    assert np.isfinite(out.to_numpy()).all()


def check_future_exog_follows_the_uses_exog_tag(make: Make) -> None:
    y, X = _series()
    model = make(SEASON).fit(y, X)
    if not model.uses_exog:
        assert np.isfinite(model.predict(HORIZON).to_numpy()).all()
        return
    try:
        model.predict(HORIZON)
    except ValueError as exc:
        assert "X_future" in str(exc)
        return
    raise AssertionError("a model that uses exogenous regressors must ask for X_future")


def check_persistence_round_trip(make: Make) -> None:
    """A fitted model reloads (joblib, as the served pyfunc ships it) to the same forecasts, small."""
    y, X = _series()
    model = make(SEASON)
    X = X if model.uses_exog else None
    model.fit(y, X)
    X_future = _future(X) if X is not None else None
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    assert buffer.tell() < PICKLE_BYTES_LIMIT, f"a fitted model pickles to {buffer.tell():,} bytes"
    buffer.seek(0)
    pd.testing.assert_frame_equal(model.predict(HORIZON, X_future), joblib.load(buffer).predict(HORIZON, X_future))


def forecaster_checks() -> list[Callable[[Make], None]]:
    """Every check of the local forecaster contract, in order."""
    return [
        check_params_stored_verbatim,
        check_tags,
        check_fit_returns_self_and_sets_cutoff,
        check_predict_contract,
        check_predict_before_fit_raises,
        check_fits_are_deterministic,
        check_update_moves_the_cutoff,
        check_gaps_follow_the_handles_missing_tag,
        check_min_train_length_is_exact,
        check_future_exog_follows_the_uses_exog_tag,
        check_persistence_round_trip,
    ]


def check_forecaster(make: Make) -> None:
    """Run every check of :func:`forecaster_checks` on the models ``make`` builds."""
    for check in forecaster_checks():
        check(make)
