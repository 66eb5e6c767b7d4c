"""Every registered global (cross-series) model against the global forecaster contract.

The local conformance test (test_model_conformance.py) covers the models fitted on one series;
models tagged ``is_global`` are routed here, where ``fit`` takes a panel of histories.
"""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from estimator_checks import assert_params_stored_verbatim
from sklearn.base import clone

from features.errors import ConfigError
from forecast.errors import ModelNotApplicable, NotFittedError
from forecast.models.global_base import GLOBAL_FORECAST_COLUMNS, GlobalForecaster
from forecast.models.registry import available_models, is_global_model, make_model

SEASON = 12
HORIZON = 12
GLOBAL_MODELS = [name for name in available_models() if is_global_model(name)]
# Small networks and few epochs keep the MLP's tests fast; the contract does not depend on size.
FAST_PARAMS: dict[str, dict] = {"pooled_mlp": {"hidden_layer_sizes": (16,), "max_iter": 300, "n_networks": 2}}


@pytest.fixture(params=GLOBAL_MODELS)
def name(request) -> str:
    return request.param


def _model(name: str, season_length: int = SEASON) -> GlobalForecaster:
    return make_model(name, season_length, FAST_PARAMS.get(name))


def _panel(
    n_series: int = 12, sign: float = 1.0, freq: str = "MS", season_length: int = SEASON, base_length: int = 84
) -> dict[str, pd.Series]:
    """Trend + season + noise series of different lengths, levels and end dates."""
    rng = np.random.default_rng(11)
    out = {}
    for i in range(n_series):
        n = base_length + 3 * i
        t = np.arange(n)
        season = (5 + i) * np.sin(2 * np.pi * t / season_length) if season_length > 1 else 0.0
        values = sign * (100 * (i + 1) + (0.5 + 0.1 * i) * t + season + rng.normal(0, 1, n))
        out[f"s{i:02d}"] = pd.Series(values, index=pd.date_range("2000-01-01", periods=n, freq=freq))
    return out


def test_global_models_are_registered():
    assert {"pooled_ridge", "pooled_mlp"} <= set(GLOBAL_MODELS)


def test_init_stores_params_verbatim_and_clone_round_trips(name):
    model = _model(name)
    params = assert_params_stored_verbatim(model)
    assert clone(model).get_params(deep=False) == params
    assert model.is_global and not model.uses_exog


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["positive", "negative"])
def test_predict_contract(name, sign):
    histories = _panel(sign=sign)  # balances are negative: the additive normalisation path
    model = _model(name)
    assert model.fit(histories, HORIZON) is model
    out = model.predict(HORIZON)
    assert list(out.columns) == GLOBAL_FORECAST_COLUMNS
    assert set(out["unique_id"]) == set(histories)
    for uid, rows in out.groupby("unique_id"):
        expected = pd.date_range(histories[uid].index[-1], periods=HORIZON + 1, freq="MS")[1:]
        assert list(rows["ds"]) == list(expected)  # each series from its own last period
    values = out[["mean", "lo_80", "hi_80", "lo_95", "hi_95"]]
    assert np.isfinite(values.to_numpy()).all()
    assert (out["lo_95"] <= out["lo_80"]).all() and (out["lo_80"] <= out["mean"]).all()
    assert (out["mean"] <= out["hi_80"]).all() and (out["hi_80"] <= out["hi_95"]).all()
    assert ((out["hi_95"] - out["lo_95"]) > 0).mean() >= 0.75
    assert len(model.predict(3)) == 3 * len(histories)


def test_trend_and_season_are_tracked(name):
    """Better than the seasonal naive forecast, which misses the trend, on a clean panel."""
    full = _panel(n_series=16)
    train = {uid: y.iloc[:-HORIZON] for uid, y in full.items()}
    out = _model(name).fit(train, HORIZON).predict()
    model_errors, naive_errors = [], []
    for uid, rows in out.groupby("unique_id"):
        actual = full[uid].iloc[-HORIZON:].to_numpy()
        model_errors.append(np.mean(np.abs(rows["mean"].to_numpy() - actual)))
        naive_errors.append(np.mean(np.abs(train[uid].iloc[-SEASON:].to_numpy() - actual)))
    assert np.mean(model_errors) < 0.5 * np.mean(naive_errors)


def test_predict_before_fit_raises(name):
    with pytest.raises(NotFittedError):
        _model(name).predict(HORIZON)


def test_predict_beyond_the_fitted_horizon_raises(name):
    model = _model(name).fit(_panel(), 6)
    with pytest.raises(ValueError, match="horizon"):
        model.predict(7)


def test_two_fits_give_identical_forecasts(name):
    first = _model(name).fit(_panel(), HORIZON).predict()
    second = _model(name).fit(_panel(), HORIZON).predict()
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def test_short_and_gapped_series_are_left_out_with_a_reason(name):
    histories = _panel()
    model = _model(name)
    n_min = model.min_train_length()
    histories["short"] = histories["s00"].iloc[: n_min - 1]
    gapped = histories["s01"].copy()
    gapped.iloc[20:22] = np.nan
    histories["gapped"] = gapped
    out = model.fit(histories, HORIZON).predict()
    assert set(out["unique_id"]) == set(histories) - {"short", "gapped"}
    assert "observations" in model.not_applicable_["short"]
    assert "gaps" in model.not_applicable_["gapped"]


def test_series_of_minimum_length_is_forecast(name):
    histories = _panel()
    model = _model(name)
    histories["minimal"] = histories["s00"].iloc[: model.min_train_length()]
    out = model.fit(histories, HORIZON).predict()
    assert np.isfinite(out.loc[out["unique_id"] == "minimal", "mean"]).all()


def test_panel_without_a_forecastable_series_is_refused(name):
    model = _model(name)
    short = {uid: y.iloc[: model.min_train_length() - 1] for uid, y in _panel(n_series=3).items()}
    with pytest.raises(ModelNotApplicable, match="observations"):
        model.fit(short, HORIZON)


@pytest.mark.parametrize("freq, season_length", [("QS-JAN", 4), ("YS-JAN", 1)])
def test_quarterly_and_annual_panels_are_forecast(name, freq, season_length):
    histories = _panel(freq=freq, season_length=season_length, base_length=50)
    out = _model(name, season_length).fit(histories, 8).predict()
    assert np.isfinite(out[["mean", "lo_95", "hi_95"]].to_numpy()).all()
    first = out.groupby("unique_id")["ds"].min()
    assert all(first[uid] == y.index[-1] + y.index.freq for uid, y in histories.items())


def test_persistence_round_trip(name, tmp_path):
    model = _model(name).fit(_panel(), HORIZON)
    joblib.dump(model, tmp_path / "m.joblib")
    pd.testing.assert_frame_equal(model.predict(), joblib.load(tmp_path / "m.joblib").predict())


def test_conformal_intervals_cover_about_their_level():
    """Pooled split-conformal bounds on a noisy panel: near-nominal coverage out of sample."""
    rng = np.random.default_rng(5)
    full = {}
    for i in range(60):
        n = 96 + i % 12
        t = np.arange(n)
        full[f"r{i}"] = pd.Series(
            50 + i + 0.2 * t + 4 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n),
            index=pd.date_range("2001-01-01", periods=n, freq="MS"),
        )
    train = {uid: y.iloc[:-HORIZON] for uid, y in full.items()}
    out = make_model("pooled_ridge", SEASON).fit(train, HORIZON).predict()
    actual = np.concatenate([full[uid].iloc[-HORIZON:].to_numpy() for uid in out["unique_id"].unique()])
    inside_80 = np.mean((actual >= out["lo_80"]) & (actual <= out["hi_80"]))
    inside_95 = np.mean((actual >= out["lo_95"]) & (actual <= out["hi_95"]))
    assert 0.7 <= inside_80 <= 0.92 and 0.88 <= inside_95 <= 1.0


def test_ensembles_refuse_global_members():
    with pytest.raises(ConfigError, match="global"):
        make_model("ensemble", SEASON, {"members": ["theta", "pooled_ridge"]})


def test_log_ratio_and_standardised_series_keep_their_own_interval_widths():
    """Positive series (log ratios) and signed ones (standardised) calibrate apart: adding balances
    to a panel must not blow up the positive series' bounds."""
    positive = _panel()
    mixed = {**positive, **{f"neg{uid}": -y for uid, y in _panel(n_series=6).items()}}
    alone = make_model("pooled_ridge", SEASON).fit(positive, HORIZON).predict()
    together = make_model("pooled_ridge", SEASON).fit(mixed, HORIZON).predict()
    together = together[together["unique_id"].isin(list(positive))].reset_index(drop=True)
    ratio = (together["hi_95"] - together["lo_95"]) / (alone["hi_95"] - alone["lo_95"])
    # 12 calibration errors per step make the 95% width noisy; one shared pool made it 10-50x.
    assert ratio.between(0.2, 5.0).all()
