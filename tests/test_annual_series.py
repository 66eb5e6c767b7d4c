"""Annual series from every official figure: monthly sums, the SOURCES.md preference rule, gaps kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.annual import build_annual_panel, load_annual_catalog
from features.errors import ConfigError
from features.series import DEFAULT_CATALOG_PATH, load_catalog
from features.snapshot import load_snapshot


@pytest.fixture(scope="module")
def snap():
    return load_snapshot()


@pytest.fixture(scope="module")
def catalog():
    return load_annual_catalog(None, load_catalog(DEFAULT_CATALOG_PATH))


def _series(snap, catalog, sid):
    return catalog.build(snap, sid)


def test_mof3_balance_years_and_sources(snap, catalog):
    built = _series(snap, catalog, "digital_mof3.balance")
    y = built.values
    assert y.index.freqstr.startswith("YS") and y.index[0].year == 2014 and y.index[-1].year == 2025
    assert y.loc["2017":"2021"].isna().all()  # missing years stay missing
    expected = {2014: -21485, 2015: -26473, 2016: -26379, 2022: -48000, 2023: -55360, 2024: -66506, 2025: -67000}
    assert {d.year: v for d, v in y.dropna().items()} == expected
    source = {d.year: s for d, s in built.source_id.dropna().items()}
    assert source[2014].startswith("BOJ_BP_M_JP_2017")  # summed from the monthly data
    assert source[2022] == "BOP_MRI_2024"  # revised (MRI) beats the rounded first preliminary (Diamond)
    assert source[2024] == "BOP_JIJI_2024CY"  # the exact release figure beats 総務省/METI restatements
    assert source[2025] == "BOP_TOYOKEIZAI_2025"


def test_monthly_sums_equal_the_derived_annual_rows(snap, catalog):
    rows = snap.digital_annual
    derived = rows[(rows["source_id"] == "DRV_BOJ_BP_M_ANNUAL") & (rows["item"] == "digital_total_mof3")]
    for flow in ("balance", "receipts", "payments"):
        y = _series(snap, catalog, f"digital_mof3.{flow}").values
        for row in derived[derived["flow"] == flow].itertuples(index=False):
            assert abs(y[pd.Timestamp(f"{row.period}-01-01")] - float(row.value)) <= 12


def test_receipts_and_payments_only_where_published(snap, catalog):
    receipts = _series(snap, catalog, "digital_mof3.receipts").values
    payments = _series(snap, catalog, "digital_mof3.payments").values
    assert receipts.dropna().index.year.tolist() == [2014, 2015, 2016, 2023]
    assert payments[pd.Timestamp("2023-01-01")] == 92463 and receipts[pd.Timestamp("2023-01-01")] == 37103
    assert receipts.index[-1].year == 2023  # nothing invented for 2024-2025


def test_wdi_converted_at_the_years_average_rate(snap, catalog):
    y = _series(snap, catalog, "wdi_ip_charges.payments").values
    usd = snap.wdi_annual
    usd = float(
        usd[(usd["item"] == "ip_charges") & (usd["flow"] == "payments") & (usd["period"] == "2015")]["value"].iloc[0]
    )
    fx = snap.usdjpy
    rate = fx.loc[fx["period"].str.startswith("2015-"), "value"].astype(float).mean()
    assert y[pd.Timestamp("2015-01-01")] == pytest.approx(usd * rate / 1e8)
    balance = _series(snap, catalog, "wdi_ip_charges.balance").values
    receipts = _series(snap, catalog, "wdi_ip_charges.receipts").values
    np.testing.assert_allclose(balance, receipts - y)


def test_proxy_is_the_monthly_proxy_summed_by_year(snap, catalog):
    annual = _series(snap, catalog, "digital_proxy.balance").values
    monthly = load_catalog(DEFAULT_CATALOG_PATH).build(snap, "digital_proxy.balance", "MS")
    assert annual[pd.Timestamp("1996-01-01")] == monthly.loc["1996"].sum()
    assert annual.index[-1].year == 2016  # 2017 has only three months: no partial year


def test_panel_and_provenance(snap, catalog):
    panel, provenance = build_annual_panel(snap, catalog, ["digital_mof3.balance", "wdi_ip_charges.balance"])
    assert list(panel.columns) == ["unique_id", "ds", "y"]
    assert panel["y"].isna().sum() == 5
    assert len(provenance) == int(panel["y"].notna().sum())


def test_unranked_source_and_bad_catalogues_are_one_line_errors(tmp_path, snap):
    monthly = load_catalog(DEFAULT_CATALOG_PATH)
    text = (DEFAULT_CATALOG_PATH.parent / "annual_series.yaml").read_text(encoding="utf-8")
    unranked = tmp_path / "a.yaml"
    unranked.write_text(text.replace("BOP_MRI_2024, ", ""), encoding="utf-8")
    with pytest.raises(ConfigError, match="BOP_MRI_2024' is in no preference tier"):
        load_annual_catalog(unranked, monthly).build(snap, "digital_mof3.balance")
    bad = tmp_path / "b.yaml"
    bad.write_text(
        text.replace("flow: balance, monthly: digital_mof3.balance", "flow: net, monthly: digital_mof3.balance"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_annual_catalog(bad, monthly)
    assert "series.digital_mof3.balance.flow" in str(info.value) and "\n" not in str(info.value)
