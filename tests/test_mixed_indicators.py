"""Indicators of the mixed-frequency study as known at an origin: published, then carried forward."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments.config import load_config
from experiments.studies.mixed.data import annual_as_monthly_step, prepare_mixed
from features.series import load_catalog
from features.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    config, _ = load_config(ROOT / "configs" / "default.yaml", base=ROOT)
    return prepare_mixed(load_snapshot(), load_catalog(config.series_catalog), config.mixed_frequency_studies[0])


def test_each_indicator_is_cut_at_its_publication_date_then_carried_forward(data):
    first, last, as_of = pd.Timestamp("2014-01-01"), pd.Timestamp("2016-12-01"), pd.Timestamp("2015-03-31")
    X = data.indicator_frame(["usdjpy", "services_total", "wdi_ip_payments"], first, last, as_of)
    fx, services, wdi = data.indicators["usdjpy"], data.indicators["services_total"], data.indicators["wdi_ip_payments"]
    # USD/JPY: February 2015 is known on 2015-03-01; March 2015 only after it ends
    assert X.loc["2015-02-01", "usdjpy"] == fx["2015-02-01"]
    assert (X.loc["2015-03-01":, "usdjpy"] == fx["2015-02-01"]).all()
    # the services total: a month is published ~45 days after it ends (January 2015 by 2015-03-17)
    assert X.loc["2015-01-01", "services_total"] == services["2015-01-01"]
    assert (X.loc["2015-02-01":, "services_total"] == services["2015-01-01"]).all()
    # WDI: a year is known 182 days after it ends, so at 2015-03-31 the newest is 2013, carried into 2014-2016
    assert (X["wdi_ip_payments"] == wdi["2013-12-01"]).all()
    assert wdi["2014-01-01"] != wdi["2013-12-01"]


def test_everything_published_when_no_origin(data):
    X = data.indicator_frame(["services_total"], pd.Timestamp("2014-01-01"), pd.Timestamp("2030-12-01"))
    services = data.indicators["services_total"]
    assert X.loc["2026-07-01", "services_total"] == services["2026-07-01"]
    assert (X.loc["2026-08-01":, "services_total"] == services["2026-07-01"]).all()


def test_an_annual_series_becomes_a_twelfth_in_each_month():
    annual = pd.Series([120.0, 240.0], index=pd.DatetimeIndex(["2020-01-01", "2021-01-01"]), name="a")
    monthly = annual_as_monthly_step(annual)
    assert len(monthly) == 24 and monthly["2020-12-01"] == 10.0 and monthly["2021-01-01"] == 20.0
    assert monthly.groupby(monthly.index.year).sum().tolist() == [120.0, 240.0]
