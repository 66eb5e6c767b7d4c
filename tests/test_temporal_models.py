"""Every mixed-frequency model against the contract of forecast/temporal/base.py (in the spirit of
tests/test_model_conformance.py): one latent monthly series from figures at several frequencies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from estimator_checks import assert_params_stored_verbatim
from sklearn.base import clone

from forecast.errors import NotFittedError
from forecast.temporal.base import OUTPUT_COLUMNS
from forecast.temporal.chow_lin import ChowLin
from forecast.temporal.state_space import StateSpaceCumulator
from forecast.temporal.windows import rounding_sd

MODELS = {"state_space": StateSpaceCumulator, "chow_lin": ChowLin}
# constructor arguments that differ from the defaults, to see them stored and cloned as given
NON_DEFAULT = {
    "state_space": {"seasonal": False, "seasonal_factors": (1.0,) * 12, "slope": False, "maxiter": 50},
    "chow_lin": {"seasonal": False, "seasonal_factors": (1.0,) * 12, "trend": False},
}
FACTORS = np.array([0.85, 0.9, 1.1, 1.0, 0.95, 1.2, 1.05, 0.9, 1.0, 0.95, 1.0, 1.1])
FACTORS = FACTORS / FACTORS.mean()
EXACT = rounding_sd(1)
END = pd.Timestamp("2019-12-01")
LAST_FIGURE = pd.Timestamp("2018-06-01")  # the 2018H1 total


# The module's fitted models are built under it too: conftest.one_blas_thread is module-scoped.
pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def truth() -> pd.Series:
    """A negative balance 2010-2019: linear trend x multiplicative season + noise (sd 10)."""
    index = pd.date_range("2010-01-01", "2019-12-01", freq="MS")
    t = np.arange(len(index))
    rng = np.random.default_rng(42)
    return pd.Series(-(1000 + 8 * t) * FACTORS[index.month - 1] + rng.normal(0, 10, len(index)), index=index)


def _windows(truth: pd.Series, years=range(2013, 2018), fiscal=True, half=True) -> pd.DataFrame:
    rows = [(ds, 1, truth[ds]) for ds in pd.date_range("2010-01-01", "2012-12-01", freq="MS")]
    rows += [(pd.Timestamp(f"{y}-01-01"), 12, truth[str(y)].sum()) for y in years]
    if fiscal:
        rows.append((pd.Timestamp("2017-04-01"), 12, truth["2017-04":"2018-03"].sum()))
    if half:
        rows.append((pd.Timestamp("2018-01-01"), 6, truth["2018-01":"2018-06"].sum()))
    frame = pd.DataFrame(rows, columns=["start", "months", "value"])
    frame["sd"] = EXACT
    return frame


@pytest.fixture(scope="module")
def windows(truth) -> pd.DataFrame:
    return _windows(truth)


@pytest.fixture(scope="module", params=list(MODELS))
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def fitted(name, windows):
    return MODELS[name]().fit(windows)


@pytest.fixture(scope="module")
def prediction(fitted) -> pd.DataFrame:
    return fitted.predict(END)


def test_init_stores_params_verbatim_and_clone_round_trips(name):
    for kwargs in ({}, NON_DEFAULT[name]):
        model = MODELS[name](**kwargs)
        params = assert_params_stored_verbatim(model)
        for key, value in kwargs.items():
            assert params[key] is value, key
        cloned = clone(model)
        assert cloned is not model
        assert cloned.get_params(deep=False) == params


def test_fit_returns_self(name, windows):
    model = MODELS[name]()
    assert model.fit(windows) is model


def test_predict_contract(prediction):
    out = prediction
    assert list(out.columns) == OUTPUT_COLUMNS
    expected = pd.date_range("2010-01-01", END, freq="MS")
    pd.testing.assert_index_equal(out.index, expected, check_names=False)
    assert np.isfinite(out.to_numpy()).all()
    assert (out["sd"] >= 0).all()
    assert (out["lo_95"] <= out["lo_80"]).all()
    assert (out["lo_80"] <= out["mean"]).all()
    assert (out["mean"] <= out["hi_80"]).all()
    assert (out["hi_80"] <= out["hi_95"]).all()
    # the forecast carries real uncertainty
    assert (out.loc[out.index > LAST_FIGURE, "hi_95"] - out.loc[out.index > LAST_FIGURE, "lo_95"] > 0).all()


def test_predict_stops_at_end_before_the_last_figure(fitted):
    out = fitted.predict("2011-06-01")
    assert out.index[-1] == pd.Timestamp("2011-06-01")


def test_every_figure_is_reproduced(fitted, prediction, windows):
    months = prediction["mean"]
    for start, length, value in zip(windows["start"], windows["months"], windows["value"]):
        span = pd.date_range(start, periods=length, freq="MS")
        assert months.reindex(span).sum() == pytest.approx(value, abs=0.5), f"{start:%Y-%m} + {length}"
    sums = fitted.predict_windows(windows[["start", "months"]])
    assert list(sums.columns) == OUTPUT_COLUMNS
    pd.testing.assert_index_equal(sums.index, windows.index)
    np.testing.assert_allclose(sums["mean"].to_numpy(), windows["value"].to_numpy(), atol=0.5)
    expected = [
        months.reindex(pd.date_range(s, periods=m, freq="MS")).sum()
        for s, m in zip(windows["start"], windows["months"])
    ]
    np.testing.assert_allclose(sums["mean"].to_numpy(), expected, rtol=1e-9, atol=1e-6)


def test_a_figure_leaves_only_its_rounding_uncertainty(name, fitted, prediction, windows):
    sums = fitted.predict_windows(windows[["start", "months"]])
    # every figure is exact to 1 (sd 0.29): its months' sum is known about that well
    assert (sums["sd"] < 1.0).all(), sums["sd"].max()
    months = prediction.loc["2010":"2012", "sd"]
    assert (months < 1.0).all(), months.idxmax()
    # and the forecast months are far less certain than the figure months
    assert prediction.loc[prediction.index > LAST_FIGURE, "sd"].min() > 5 * months.max()


def test_forecast_uncertainty_grows_with_the_horizon(fitted, prediction):
    sd = prediction.loc[prediction.index > LAST_FIGURE, "sd"]
    assert len(sd) == 18
    # the latent months scale with the seasonal factor, so compare each month with the same month
    # a year later: never narrower
    year_on = sd.to_numpy()[12:] / sd.to_numpy()[:6]
    assert (year_on >= 1 - 1e-6).all()
    # sums: the next calendar year is wider than the second half of this one
    ahead = fitted.predict_windows(
        pd.DataFrame({"start": pd.to_datetime(["2018-07-01", "2019-01-01", "2019-07-01"]), "months": [6, 6, 6]})
    )
    assert ahead["sd"].is_monotonic_increasing
    assert ahead["sd"].iloc[-1] > ahead["sd"].iloc[0]


def test_rebuilt_months_beat_a_flat_split(prediction, truth):
    scale = np.mean(np.abs(np.diff(truth["2010":"2012"].to_numpy().reshape(3, 12), axis=0)))  # seasonal-naive MAE
    actual = truth["2013":"2017"]
    flat = pd.Series(np.repeat([truth[str(y)].sum() / 12 for y in range(2013, 2018)], 12), index=actual.index)
    mase_model = np.mean(np.abs(prediction.loc["2013":"2017", "mean"] - actual)) / scale
    mase_flat = np.mean(np.abs(flat - actual)) / scale
    assert mase_model < 0.5 * mase_flat, (mase_model, mase_flat)


def test_predict_before_fit_raises(name):
    with pytest.raises(NotFittedError):
        MODELS[name]().predict(END)
    with pytest.raises(NotFittedError):
        MODELS[name]().predict_windows(pd.DataFrame({"start": [pd.Timestamp("2013-01-01")], "months": [12]}))


def test_indicators_fitted_must_be_given_to_predict(name, windows, truth):
    t = np.arange(len(truth))
    X = pd.DataFrame({"indicator": np.log(1000 + 8 * t)}, index=truth.index)
    model = MODELS[name]().fit(windows, X)
    out = model.predict(END, X)
    assert np.isfinite(out.to_numpy()).all()
    with pytest.raises(ValueError, match="pass X"):
        model.predict(END)
    with pytest.raises(ValueError, match="differ"):
        model.predict(END, X.rename(columns={"indicator": "other"}))
    with pytest.raises(ValueError, match="lack a value"):
        model.predict(END, X.loc[:"2018-12-01"])


def test_two_fits_give_identical_predictions(name, windows, prediction):
    again = MODELS[name]().fit(windows).predict(END)
    pd.testing.assert_frame_equal(again, prediction, check_exact=True)


def test_a_year_without_any_figure_is_bridged(name, truth):
    windows = _windows(truth, years=(2013, 2014, 2016, 2017), fiscal=False, half=False)
    model = MODELS[name]().fit(windows)
    out = model.predict("2018-12-01")
    assert not out.isna().any().any()
    sd = out["sd"]
    assert sd["2015"].mean() > max(sd["2014"].mean(), sd["2016"].mean())
    years = pd.DataFrame({"start": pd.to_datetime([f"{y}-01-01" for y in range(2014, 2017)]), "months": 12})
    totals = model.predict_windows(years)
    assert totals["sd"].iloc[1] > 10 * max(totals["sd"].iloc[0], totals["sd"].iloc[2])
    # the bridged total is plausible: within 3 sd of the truth and between its neighbours' scale
    assert abs(totals["mean"].iloc[1] - truth["2015"].sum()) < 3 * totals["sd"].iloc[1] + 1.0


def test_months_rebuilt_from_totals_alone_have_sound_uncertainty(name):
    """The hidden-months case: the first figures are calendar-year totals, monthly figures come
    after. No month's variance is negative (clipped to a zero-width interval), the first month is
    no less certain than its neighbours (its irregular is drawn like theirs), and each total stays
    known to its rounding."""
    index = pd.date_range("2014-01-01", "2017-12-01", freq="MS")
    rng = np.random.default_rng(7)
    truth = pd.Series(-(2000 + 15 * np.arange(len(index))) * FACTORS[index.month - 1], index=index)
    truth = truth * (1 + rng.normal(0, 0.15, len(index)))
    rows = [(pd.Timestamp(f"{y}-01-01"), 12, truth[str(y)].sum()) for y in (2014, 2015, 2016)]
    rows += [(ds, 1, truth[ds]) for ds in truth["2017"].index]
    windows = pd.DataFrame(rows, columns=["start", "months", "value"]).assign(sd=EXACT)
    model = MODELS[name](seasonal_factors=tuple(FACTORS)).fit(windows)
    sd = model.predict("2017-12-01")["sd"]
    assert (sd["2014":"2016"] > 0).all(), sd[sd <= 0].index.min()
    first_year = sd["2014"]
    assert first_year.iloc[0] < 2 * first_year.iloc[1:].median(), first_year.round(0).tolist()
    totals = model.predict_windows(windows[windows["months"] == 12][["start", "months"]])
    assert (totals["sd"] < 1.0).all(), totals["sd"].round(2).tolist()
