"""Series catalogue: base and derived series, aggregation of complete periods, config errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError, UnknownSeriesError
from features.series import DEFAULT_CATALOG_PATH, build_panel, load_catalog
from features.snapshot import load_snapshot

PARTS = ("copyright_royalties", "telecom_computer_information", "prof_mgmt_consulting")
FLOWS = ("receipts", "payments", "balance")


@pytest.fixture(scope="module")
def snap():
    return load_snapshot()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(DEFAULT_CATALOG_PATH)


def _without(snap, item: str, flow: str, periods: list[str]):
    """A snapshot with some months of one (item, flow) removed (a gap, as in real data)."""
    boj = snap.boj_monthly
    drop = (boj["item"] == item) & (boj["flow"] == flow) & boj["period"].isin(periods)
    return dataclasses.replace(snap, boj_monthly=boj[~drop].reset_index(drop=True))


def test_catalog_ids(catalog) -> None:
    expected = {f"{i}.{f}" for i in PARTS for f in FLOWS} | {
        f"{d}.{f}" for d in ("digital_mof3", "digital_proxy") for f in FLOWS
    }
    assert set(catalog.ids()) == expected
    assert catalog.ids() == sorted(catalog.ids())
    assert catalog.parts("digital_proxy.balance") == [
        "copyright_royalties.balance",
        "telecom_computer_information.balance",
    ]
    assert catalog.label("digital_mof3.balance", "ja").startswith("デジタル関連収支")


def test_base_series_spans(snap, catalog) -> None:
    s = catalog.build(snap, "copyright_royalties.balance")
    assert s.name == "copyright_royalties.balance"
    assert isinstance(s.index, pd.DatetimeIndex) and s.index.freqstr == "MS"
    assert (s.index[0], s.index[-1], len(s)) == (pd.Timestamp("1996-01-01"), pd.Timestamp("2017-03-01"), 255)
    consulting = catalog.build(snap, "prof_mgmt_consulting.payments")
    assert consulting.index[0] == pd.Timestamp("2014-01-01")
    assert s.notna().all()


def test_mof3_starts_with_consulting_and_proxy_is_long(snap, catalog) -> None:
    mof3 = catalog.build(snap, "digital_mof3.balance")
    proxy = catalog.build(snap, "digital_proxy.balance")
    assert mof3.index[0] == pd.Timestamp("2014-01-01") and mof3.index[-1] == pd.Timestamp("2017-03-01")
    assert proxy.index[0] == pd.Timestamp("1996-01-01") and len(proxy) == 255


def test_mof3_2014_matches_sources_md(snap, catalog) -> None:
    annual = catalog.build(snap, "digital_mof3.balance", freq="YS")
    # SOURCES.md: 2014 mof3 = -21,485 (sum of rounded months; official 2.15兆)
    assert abs(annual[pd.Timestamp("2014-01-01")] - (-21485)) <= 3


@pytest.mark.parametrize("flow", FLOWS)
def test_mof3_annual_equals_reference_annual_sums(snap, catalog, flow: str) -> None:
    annual = catalog.build(snap, f"digital_mof3.{flow}", freq="YS")
    ref = snap.digital_annual
    ref = ref[
        (ref["source_id"] == "DRV_BOJ_BP_M_ANNUAL") & (ref["item"] == "digital_total_mof3") & (ref["flow"] == flow)
    ]
    expected = pd.Series(ref["value"].to_numpy(), index=pd.to_datetime(ref["period"], format="%Y"))
    assert len(expected) == 3  # 2014-2016
    np.testing.assert_allclose(annual.reindex(expected.index).to_numpy(), expected.to_numpy(), atol=3)


@pytest.mark.parametrize("flow", FLOWS)
def test_derived_equals_sum_of_parts(snap, catalog, flow: str) -> None:
    proxy = catalog.build(snap, f"digital_proxy.{flow}")
    parts = [catalog.build(snap, f"{p}.{flow}") for p in PARTS[:2]]
    pd.testing.assert_series_equal(proxy, (parts[0] + parts[1]).rename(proxy.name), check_freq=False)
    mof3 = catalog.build(snap, f"digital_mof3.{flow}")
    total = sum(catalog.build(snap, f"{p}.{flow}").loc["2014-01-01":] for p in PARTS)
    np.testing.assert_array_equal(mof3.to_numpy(), total.to_numpy())


def test_no_partial_sums_and_gaps_kept(snap, catalog) -> None:
    gappy = _without(snap, "prof_mgmt_consulting", "balance", ["2015-06"])
    mof3 = catalog.build(gappy, "digital_mof3.balance")
    assert len(mof3) == 39  # the gap is a row, not a dropped month
    assert np.isnan(mof3[pd.Timestamp("2015-06-01")])
    assert mof3.drop(pd.Timestamp("2015-06-01")).notna().all()
    # the proxy does not use consulting and is unaffected
    assert catalog.build(gappy, "digital_proxy.balance").notna().all()
    quarterly = catalog.build(gappy, "digital_mof3.balance", freq="QS")
    assert np.isnan(quarterly[pd.Timestamp("2015-04-01")])
    assert quarterly.notna().sum() == len(quarterly) - 1
    yearly = catalog.build(gappy, "digital_mof3.balance", freq="YS")
    assert np.isnan(yearly[pd.Timestamp("2015-01-01")])
    assert (
        yearly[pd.Timestamp("2014-01-01")]
        == catalog.build(snap, "digital_mof3.balance", freq="YS")[pd.Timestamp("2014-01-01")]
    )


def test_leading_and_trailing_gaps_are_trimmed(snap, catalog) -> None:
    gappy = _without(snap, "copyright_royalties", "receipts", ["1996-01", "1996-02", "2017-03"])
    s = catalog.build(gappy, "digital_proxy.receipts")
    assert (s.index[0], s.index[-1]) == (pd.Timestamp("1996-03-01"), pd.Timestamp("2017-02-01"))
    assert s.index.freqstr == "MS"


def test_quarterly_and_annual_only_complete_periods(snap, catalog) -> None:
    monthly = catalog.build(snap, "digital_proxy.balance")
    quarterly = catalog.build(snap, "digital_proxy.balance", freq="QS")
    yearly = catalog.build(snap, "digital_proxy.balance", freq="YS")
    assert quarterly.index.freqstr == "QS-JAN" and yearly.index.freqstr == "YS-JAN"
    assert quarterly.index[-1] == pd.Timestamp("2017-01-01")  # 2017-01..03 complete
    assert quarterly[pd.Timestamp("2017-01-01")] == monthly.loc["2017-01-01":"2017-03-01"].sum()
    assert yearly.index[-1] == pd.Timestamp("2016-01-01")  # 2017 has 3 months only: no value
    assert yearly[pd.Timestamp("1996-01-01")] == monthly.loc["1996"].sum()
    # a series that starts mid-quarter has no value for that quarter
    late = _without(snap, "copyright_royalties", "balance", ["1996-01"])
    q = catalog.build(late, "digital_proxy.balance", freq="QS")
    assert q.index[0] == pd.Timestamp("1996-04-01")


def test_unknown_series(snap, catalog) -> None:
    with pytest.raises(
        UnknownSeriesError, match=r"^unknown series 'digital\.nope'; known: copyright_royalties\.balance, "
    ):
        catalog.build(snap, "digital.nope")


def test_unsupported_freq(snap, catalog) -> None:
    with pytest.raises(ConfigError, match="unsupported freq 'W'"):
        catalog.build(snap, "digital_mof3.balance", freq="W")


def test_build_panel(snap, catalog) -> None:
    gappy = _without(snap, "prof_mgmt_consulting", "payments", ["2016-02"])
    ids = ["digital_mof3.payments", "digital_proxy.payments", "digital_mof3.payments"]
    panel = build_panel(gappy, catalog, ids)
    assert list(panel.columns) == ["unique_id", "ds", "y"]
    assert str(panel["unique_id"].dtype) in ("str", "string", "object")
    assert pd.api.types.is_datetime64_any_dtype(panel["ds"]) and panel["y"].dtype == "float64"
    assert panel.equals(panel.sort_values(["unique_id", "ds"]).reset_index(drop=True))
    spans = panel.groupby("unique_id")["ds"].agg(["min", "max", "count"])
    assert spans.loc["digital_mof3.payments"].tolist() == [pd.Timestamp("2014-01-01"), pd.Timestamp("2017-03-01"), 39]
    assert spans.loc["digital_proxy.payments", "count"] == 255
    gap = panel[(panel["unique_id"] == "digital_mof3.payments") & (panel["ds"] == pd.Timestamp("2016-02-01"))]
    assert len(gap) == 1 and gap["y"].isna().all()
    yearly = build_panel(snap, catalog, ["digital_mof3.balance"], freq="YS")
    assert yearly["y"].tolist()[0] == catalog.build(snap, "digital_mof3.balance", "YS").iloc[0]


# --- catalogue errors ---------------------------------------------------------------------------

BASE = "{source: boj_monthly, item: copyright_royalties, flow: balance, label: a, label_ja: b}"
BAD_CATALOGS = [
    ("unknown top key", f"series:\n  a.balance: {BASE}\nextra: 1\n", "extra: Extra inputs are not permitted"),
    (
        "unknown series key",
        "series:\n  a.balance: {source: boj_monthly, item: copyright_royalties, flow: balance, "
        "label: a, label_ja: b, colour: red}\n",
        "series.a.balance.colour: Extra inputs are not permitted",
    ),
    (
        "unknown part",
        f"series:\n  a.balance: {BASE}\n  d.balance: {{sum: [a.balance, zz.balance], label: x, label_ja: y}}\n",
        "series 'd.balance' sums unknown series 'zz.balance'",
    ),
    (
        "cycle",
        "series:\n  a.x: {sum: [b.x, c.x], label: x, label_ja: y}\n  b.x: {sum: [a.x, c.x], label: x, label_ja: y}\n"
        f"  c.x: {BASE}\n",
        "cycle in derived series: a.x -> b.x -> a.x",
    ),
    (
        "self reference",
        f"series:\n  a.x: {{sum: [a.x, c.x], label: x, label_ja: y}}\n  c.x: {BASE}\n",
        "cycle in derived series: a.x -> a.x",
    ),
    (
        "unknown item",
        "series:\n  a.balance: {source: boj_monthly, item: travel, flow: balance, label: a, label_ja: b}\n",
        "series.a.balance.item: Input should be",
    ),
    (
        "bad flow",
        "series:\n  a.balance: {source: boj_monthly, item: copyright_royalties, flow: net, label: a, label_ja: b}\n",
        "series.a.balance.flow: Input should be",
    ),
    (
        "duplicate id",
        f"series:\n  a.balance: {BASE}\n  a.balance: {BASE}\n",
        "invalid YAML at line 3, column 3: duplicate key 'a.balance'",
    ),
    ("invalid yaml", "series: [unclosed\n", "invalid YAML"),
    ("empty file", "", "empty file (expected a 'series:' mapping)"),
    ("not a mapping", "- a\n- b\n", "expected a 'series:' mapping"),
    ("one-part sum", f"series:\n  a.x: {{sum: [c.x], label: x, label_ja: y}}\n  c.x: {BASE}\n", "series.a.x.sum"),
]


@pytest.mark.parametrize(("case", "text", "expected"), BAD_CATALOGS, ids=[c[0] for c in BAD_CATALOGS])
def test_bad_catalog(tmp_path: Path, case: str, text: str, expected: str) -> None:
    path = tmp_path / "series.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalog(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message
    assert err.value.__cause__ is None


def test_missing_catalog(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_catalog(tmp_path / "absent.yaml")
