"""The AI-adoption diffusion curve and the driver models (currency decomposition, trend regression,
state-space trend on gappy annual data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.ai_adoption import adoption_index, fit_adoption, load_adoption_config, survey_points
from features.errors import ConfigError
from features.snapshot import load_snapshot
from forecast.errors import ModelNotApplicable
from forecast.models.registry import make_model


@pytest.fixture(scope="module")
def fit():
    config = load_adoption_config()
    points = survey_points(load_snapshot(), config.index_indicator, config)
    return config, points, fit_adoption(points, config, draws=150)


def test_curve_meets_the_survey_points_and_starts_at_zero(fit):
    config, points, result = fit
    central = result.central_path(pd.DatetimeIndex(points["survey_date"]))
    np.testing.assert_allclose(central.to_numpy(), [9.1, 26.7], atol=0.5)
    before = result.paths(pd.DatetimeIndex(["2022-06-15", "2022-11-30"]))
    assert (before == 0).all()  # A1: nothing before ChatGPT's release
    low, high = config.ceiling_low, config.ceiling_high
    assert (result.params[:, 0] >= low).all() and (result.params[:, 0] <= high).all()


def test_quantile_paths_are_ordered_and_monotone(fit):
    _, _, result = fit
    years = pd.date_range("2023-01-01", "2035-01-01", freq="YS")
    slow, median, fast = (adoption_index(result, years, "YS", q).values for q in ("slow", "median", "fast"))
    assert (slow <= median).all() and (median <= fast).all()
    assert (np.diff(median) >= 0).all() and median.iloc[-1] <= 95.0
    # uncertainty grows with distance from the survey points (the ceiling is the big unknown)
    assert (fast - slow).iloc[-1] > (fast - slow).iloc[1]


def test_adoption_config_errors_are_one_line(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("index_indicator: x\nlaunch_date: 2022-11-30\nsurvey_month_of_fiscal_year: 13\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_adoption_config(path)
    assert "survey_month_of_fiscal_year" in str(info.value) and "\n" not in str(info.value)


# ---- currency decomposition ---------------------------------------------------------------------


def _annual(n: int = 12, gap: slice | None = None):
    idx = pd.date_range("2010-01-01", periods=n, freq="YS")
    rng = np.random.default_rng(2)
    fx = 100 + np.cumsum(rng.normal(0, 5, n))
    usd = 200 + 15 * np.arange(n) + rng.normal(0, 3, n)
    y = pd.Series(usd * fx, index=idx)
    if gap is not None:
        y.iloc[gap] = np.nan
    return y, pd.DataFrame({"usdjpy_log": np.log(fx)}, index=idx)


def test_dollar_volume_moves_one_for_one_with_the_fx_path():
    y, X = _annual()
    model = make_model("dollar_volume", 1, {"base": "trend_regression"}).fit(y, X)
    future = pd.date_range("2022-01-01", periods=3, freq="YS")
    base = model.predict(3, pd.DataFrame({"usdjpy_log": np.log([120.0] * 3)}, index=future))
    weak = model.predict(3, pd.DataFrame({"usdjpy_log": np.log([138.0] * 3)}, index=future))
    np.testing.assert_allclose(weak.to_numpy(), base.to_numpy() * 1.15)
    # the dollar volume is what the base model sees
    np.testing.assert_allclose(model.base_model_.coefficients_["trend"], 15, atol=1.5)


def test_dollar_volume_without_fx_is_its_base_model():
    y, _ = _annual()
    wrapped = make_model("dollar_volume", 1, {"base": "trend_regression"}).fit(y)
    plain = make_model("trend_regression", 1).fit(y)
    pd.testing.assert_frame_equal(wrapped.predict(3), plain.predict(3))


def test_gappy_annual_series_are_fitted_not_filled():
    y, X = _annual(gap=slice(3, 8))  # five missing years, like 2017-2021
    for name, params in [
        ("local_trend", {"level": "rwdrift"}),
        ("trend_regression", {}),
        ("dollar_volume", {"base": "local_trend", "base_params": {"level": "rwdrift"}}),
    ]:
        model = make_model(name, 1, params).fit(y, X)
        out = model.predict(
            2,
            pd.DataFrame(
                {"usdjpy_log": X["usdjpy_log"].iloc[-1]}, index=pd.date_range("2022-01-01", periods=2, freq="YS")
            ),
        )
        assert np.isfinite(out.to_numpy()).all(), name


def test_trend_regression_drops_a_driver_that_barely_varies():
    y, X = _annual()
    X = X.assign(ai_adoption=0.0)
    X.iloc[-1, 1] = 3.4  # one non-zero value: no identifiable effect
    model = make_model("trend_regression", 1).fit(y, X)
    assert model.dropped_columns_ == ["ai_adoption"] and "ai_adoption" not in model.coefficients_
    X.iloc[-2, 1] = 1.0
    assert make_model("trend_regression", 1).fit(y, X).dropped_columns_ == []


def test_trend_regression_needs_a_residual_degree_of_freedom():
    y, X = _annual(n=3)
    with pytest.raises(ModelNotApplicable, match="observations"):
        make_model("trend_regression", 1).fit(y, X)
