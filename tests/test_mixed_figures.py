"""Official figures as window sums (experiments/studies/mixed/figures.py), on period codes and on the
bundled snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.studies.mixed.figures import WINDOW_FRAME_COLUMNS, figure_windows, period_window, rounding_step
from features.annual import load_annual_catalog
from features.errors import ConfigError
from features.series import load_catalog
from features.snapshot import load_snapshot
from forecast.temporal.windows import rounding_sd

ROOT = Path(__file__).resolve().parents[1]
TARGET = "digital_mof3.balance"
TOTAL_LABELS = ["2022", "2023", "FY2024H1", "2024-01..2024-10", "2024", "FY2024", "2025H1", "2025"]


@pytest.mark.parametrize(
    "period, frequency, start, months",
    [
        ("2024", "A", "2024-01-01", 12),
        ("FY2024", "FY", "2024-04-01", 12),
        ("2025H1", "H", "2025-01-01", 6),
        ("2025H2", "H", "2025-07-01", 6),
        ("FY2024H1", "FH", "2024-04-01", 6),
        ("FY2024H2", "FH", "2024-10-01", 6),
        ("2024-01..2024-10", "YTD", "2024-01-01", 10),
        ("2024-04..2025-03", "YTD", "2024-04-01", 12),
    ],
)
def test_period_window(period, frequency, start, months):
    assert period_window(period, frequency) == (pd.Timestamp(start), months)


def test_period_window_refuses_an_unknown_frequency():
    with pytest.raises(ConfigError, match="unknown frequency"):
        period_window("2024Q1", "Q")


@pytest.mark.parametrize(
    "value, exact, step",
    [
        (-66506.0, True, 1.0),
        (-67000.0, True, 1.0),  # an exact source is exact whatever its digits
        (-67000.0, False, 1000.0),
        (-56300.0, False, 100.0),
        (-21500.0, False, 100.0),
        (-70000.0, False, 1000.0),  # capped at 1,000 (0.1 trillion yen)
        (-55360.0, False, 10.0),
        (-66507.0, False, 1.0),
        (0.0, False, 1.0),
    ],
)
def test_rounding_step(value, exact, step):
    assert rounding_step(value, exact) == step


@pytest.fixture(scope="module")
def sources():
    snapshot = load_snapshot()
    catalog = load_annual_catalog(None, load_catalog(ROOT / "configs" / "series.yaml"))
    return snapshot, catalog


@pytest.fixture(scope="module")
def windows(sources) -> pd.DataFrame:
    return figure_windows(*sources, TARGET)


def test_monthly_figures_are_one_month_windows(windows):
    assert list(windows.columns) == [*WINDOW_FRAME_COLUMNS, "end"]
    months = windows[windows["kind"] == "M"]
    assert len(months) == 39
    assert (months["months"] == 1).all()
    pd.testing.assert_index_equal(
        pd.DatetimeIndex(months["start"]),
        pd.date_range("2014-01-01", "2017-03-01", freq="MS"),
        check_names=False,
        check_freq=False,
    )
    assert months["label"].iloc[0] == "2014-01"
    assert months["label"].iloc[-1] == "2017-03"
    assert np.allclose(months["sd"], rounding_sd(1.0))
    assert (months["source_id"] == "BOJ_BP_M_JP_2017").all()  # each month names the source of its figures
    assert np.isfinite(months["value"]).all() and (months["value"] < 0).all()


def test_published_totals_and_their_windows(windows):
    totals = windows[windows["kind"] != "M"]
    assert totals["label"].tolist() == TOTAL_LABELS
    by_label = totals.set_index("label")
    assert by_label.loc["2022", ["kind", "start", "months"]].tolist() == ["A", pd.Timestamp("2022-01-01"), 12]
    assert by_label.loc["FY2024H1", ["kind", "start", "months"]].tolist() == ["FH", pd.Timestamp("2024-04-01"), 6]
    assert by_label.loc["2024-01..2024-10", ["kind", "start", "months"]].tolist() == [
        "YTD",
        pd.Timestamp("2024-01-01"),
        10,
    ]
    assert by_label.loc["FY2024", ["kind", "start", "months"]].tolist() == ["FY", pd.Timestamp("2024-04-01"), 12]
    assert by_label.loc["2025H1", ["kind", "start", "months"]].tolist() == ["H", pd.Timestamp("2025-01-01"), 6]
    assert by_label.loc["FY2024", "end"] == pd.Timestamp("2025-03-01")
    # the 2022 figure: the newest vintage (MRI, published 2024-04-25), rounded to 1,000
    assert by_label.loc["2022", "value"] == -48000.0
    assert by_label.loc["2022", "sd"] == pytest.approx(rounding_sd(1000))
    assert by_label.loc["2024-01..2024-10", "sd"] == pytest.approx(rounding_sd(100))
    # sorted by window end, then length
    ends = windows["end"].to_numpy()
    assert (ends[1:] >= ends[:-1]).all()
    assert not windows.duplicated(["start", "months"]).any()


def test_totals_over_monthly_figures_are_dropped(windows):
    totals = windows[windows["kind"] != "M"]
    assert not ((totals["start"] >= "2014-01-01") & (totals["end"] <= "2017-03-01")).any()
    assert not totals["label"].isin(["2014", "2015", "2016"]).any()


def test_as_of_keeps_only_figures_published_by_then(sources):
    windows = figure_windows(*sources, TARGET, as_of=pd.Timestamp("2024-03-31"))
    totals = windows[windows["kind"] != "M"]
    assert totals["label"].tolist() == ["2022", "2023"]
    assert (pd.to_datetime(totals["vintage"]) <= pd.Timestamp("2024-03-31")).all()
    # the MRI figure -48000 came out on 2024-04-25: the earlier Diamond figure stands in
    by_label = totals.set_index("label")
    assert by_label.loc["2022", "value"] == -47000.0
    assert by_label.loc["2022", "source_id"] == "BOP_DIAMOND_2023"
    assert not (windows["start"] >= pd.Timestamp("2024-01-01")).any()
    assert (windows["kind"] == "M").sum() == 39  # the monthly file predates the origin


def test_hidden_months_keep_their_annual_totals(sources, windows):
    full_months = windows[windows["kind"] == "M"].set_index("start")["value"]
    windows = figure_windows(*sources, TARGET, hide_months=(pd.Timestamp("2014-01-01"), pd.Timestamp("2016-12-01")))
    months = windows[windows["kind"] == "M"]
    assert months["label"].tolist() == ["2017-01", "2017-02", "2017-03"]
    totals = windows[windows["kind"] != "M"]
    assert totals["label"].tolist() == ["2014", "2015", "2016", *TOTAL_LABELS]
    early = totals[totals["label"].isin(["2014", "2015", "2016"])]
    assert (early["kind"] == "A").all() and (early["months"] == 12).all()
    assert early["start"].tolist() == [pd.Timestamp(f"{y}-01-01") for y in (2014, 2015, 2016)]
    for start, value in zip(early["start"], early["value"]):
        # the BOJ-derived total is the sum of the hidden months, up to their rounding
        assert value == pytest.approx(full_months[str(start.year)].sum(), abs=6.0)


@pytest.mark.parametrize("target", ["wdi_ip_charges.balance", "digital_proxy.balance"])
def test_a_target_that_is_not_official_with_monthly_is_refused(sources, target):
    with pytest.raises(ConfigError, match="no monthly and published figures"):
        figure_windows(*sources, target)
