"""Every driver value carries the date it became known; builders refuse values known after the origin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.ai_adoption import (
    ADOPTION_COLUMN,
    AdoptionDriver,
    adoption_index,
    fit_adoption,
    load_adoption_config,
    survey_points,
)
from features.fx_drivers import USD_VOLUME, dollar_decomposition, usdjpy_known
from features.known import (
    FX_MONTHLY_LAG_DAYS,
    LeakageError,
    known_by,
    next_period_start,
    period_end,
    require_known,
    with_dates,
    with_lag,
)
from features.snapshot import load_snapshot


@pytest.fixture(scope="module")
def snap():
    return load_snapshot()


@pytest.fixture(scope="module")
def adoption(snap):
    config = load_adoption_config()
    points = survey_points(snap, config.index_indicator, config)
    return config, points


def test_period_end_and_origin_date():
    assert period_end(pd.Timestamp("2024-02-01"), "MS") == pd.Timestamp("2024-02-29")
    assert period_end(pd.Timestamp("2024-04-01"), "QS") == pd.Timestamp("2024-06-30")
    assert period_end(pd.Timestamp("2024-01-01"), "YS-JAN") == pd.Timestamp("2024-12-31")
    assert next_period_start(pd.Timestamp("2024-12-01"), "MS") == pd.Timestamp("2025-01-01")


def test_stated_lag_stamps_every_value_and_known_by_selects(snap):
    fx = usdjpy_known(snap, "MS")
    assert (fx.known_at == fx.values.index + pd.offsets.MonthEnd(0) + pd.Timedelta(days=FX_MONTHLY_LAG_DAYS)).all()
    # June's average is known on 30 June + 1 day: an origin dated 1 July sees it, 30 June does not
    assert known_by(fx, pd.Timestamp("2024-07-01")).values.index.max() == pd.Timestamp("2024-06-01")
    assert known_by(fx, pd.Timestamp("2024-06-30")).values.index.max() == pd.Timestamp("2024-05-01")
    annual = usdjpy_known(snap, "YS")
    assert annual.known_at[pd.Timestamp("2024-01-01")] == pd.Timestamp("2025-01-01")


def test_dollar_decomposition_splits_yen_into_volume_times_rate(snap):
    fx = usdjpy_known(snap, "YS")
    yen = with_lag(pd.Series([-21485.0, -26473.0], index=pd.DatetimeIndex(["2014-01-01", "2015-01-01"])), "YS", 41)
    out = dollar_decomposition(yen, fx, as_of=pd.Timestamp("2016-03-01"))
    np.testing.assert_allclose(out[USD_VOLUME] * out["usdjpy"], out["yen"])
    assert out.loc["2015-01-01", "usdjpy"] == pytest.approx(fx.values[pd.Timestamp("2015-01-01")])


def test_builder_refuses_a_value_known_after_the_origin(snap):
    """The 2015 figure (published 41 days after the year ends) is handed to a 2016-01-01 origin."""
    fx = usdjpy_known(snap, "YS")
    yen = with_lag(pd.Series([-21485.0, -26473.0], index=pd.DatetimeIndex(["2014-01-01", "2015-01-01"])), "YS", 41)
    with pytest.raises(LeakageError, match="2015-01-01.*became known on 2016-02-10.*after the origin 2016-01-01"):
        dollar_decomposition(yen, fx, as_of=pd.Timestamp("2016-01-01"))
    # selecting what was known first is the caller's job, and then the builder accepts it
    out = dollar_decomposition(known_by(yen, pd.Timestamp("2016-01-01")), fx, as_of=pd.Timestamp("2016-01-01"))
    assert list(out.index) == [pd.Timestamp("2014-01-01")]


def test_adoption_curve_refuses_surveys_published_after_the_origin(adoption):
    config, points = adoption
    assert (pd.DatetimeIndex(points["vintage"]) == pd.Timestamp("2025-07-08")).all()  # 令和7年版 white paper
    with pytest.raises(LeakageError, match="adoption survey"):
        fit_adoption(points, config, as_of=pd.Timestamp("2025-01-01"), draws=0)
    fit = fit_adoption(points, config, as_of=pd.Timestamp("2025-07-08"), draws=0)
    assert fit.known_at == pd.Timestamp("2025-07-08")


def test_adoption_index_is_known_at_survey_publication_and_zero_before_launch(adoption):
    config, points = adoption
    fit = fit_adoption(points, config, draws=0)
    years = pd.date_range("2020-01-01", "2026-01-01", freq="YS")
    index = adoption_index(fit, years, "YS")
    assert (index.values.loc[:"2021-01-01"] == 0).all()  # A1: before ChatGPT's release
    assert index.known_at[pd.Timestamp("2021-01-01")] == pd.Timestamp("2021-12-31")
    assert (index.known_at.loc["2022-01-01":] == pd.Timestamp("2025-07-08")).all()
    require_known(index, pd.Timestamp("2025-07-08"), "index")
    with pytest.raises(LeakageError):
        require_known(index, pd.Timestamp("2025-07-07"), "index")


def test_realtime_adoption_driver_uses_only_published_surveys(adoption):
    config, points = adoption
    driver = AdoptionDriver(points, config, "YS")
    years = pd.date_range("2019-01-01", "2026-01-01", freq="YS")
    before = driver(pd.Timestamp("2025-01-01"), years)
    assert before.name == ADOPTION_COLUMN
    assert (before.loc[:"2021-01-01"] == 0).all() and before.loc["2022-01-01":].isna().all()
    # a forecaster in 2019 did not know whether (or when) generative AI would arrive
    assert driver(pd.Timestamp("2019-01-01"), years).loc["2019-01-01":].isna().all()
    after = driver(pd.Timestamp("2025-07-08"), years)
    assert after.notna().all() and after.loc["2025-01-01"] > after.loc["2024-01-01"] > 0


def test_explicit_publication_dates(snap):
    values = pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2023-01-01", "2024-01-01"]))
    stamped = with_dates(values, pd.Series(pd.to_datetime(["2024-02-29", "2025-02-10"]), index=values.index))
    assert list(known_by(stamped, pd.Timestamp("2025-01-01")).values) == [1.0]
