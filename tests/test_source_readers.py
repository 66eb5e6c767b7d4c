"""MOF CSV and BOJ bulk-file readers on fixtures in the documented layouts, and the round trip of
the bundled snapshot through the BOJ bulk layout."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli.vintages import Layout, export, import_file, validate
from features.data_defaults import BUNDLED, DEFAULT_BOJ_CATALOGUE
from features.errors import DataValidationError
from features.series import build_panel, load_catalog
from features.snapshot import load_snapshot
from features.sources.boj_catalogue import CODES_FILE, load_boj_catalogue, load_resolved
from features.sources.boj_flat import read_boj_flat, write_boj_flat
from features.sources.figures import COLUMNS
from features.sources.file_import import detect_layout, read_input
from features.sources.mof_csv import read_mof_csv
from features.vintage_snapshot import select_data
from features.vintages import VintageStore

SOURCES = Path(__file__).resolve().parent / "data" / "sources"
ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2024-05-10T00:00:00+00:00"


@pytest.fixture(scope="module")
def catalogue():
    return load_boj_catalogue()


def figure(figures: pd.DataFrame, series: str, period: str) -> float:
    item, flow = series.split(".")
    rows = figures[(figures["item"] == item) & (figures["flow"] == flow) & (figures["period"] == period)]
    assert len(rows) == 1, (series, period)
    return float(rows["value"].iloc[0])


def test_mof_table_in_cp932_with_thousands_separators_and_preliminary_marks():
    data = (SOURCES / "mof_6s-2-4.csv").read_bytes()
    intake = read_mof_csv(data, "mof_6s-2-4.csv", AS_OF)
    figures = intake.figures
    assert len(figures) == 15 * 14  # 2023-01..2024-03 (Feb/Mar marked (P)), 14 items, net balances only
    assert set(figures["flow"]) == {"balance"} and set(figures["unit"]) == {"100m_yen"}
    assert figure(figures, "ip_charges.balance", "2023-01") == 4215  # written "4,215"
    assert figure(figures, "services_total.balance", "2023-02") == -1694  # year carried from the January row
    assert figure(figures, "telecom_computer_information.balance", "2024-03") == -2065
    assert intake.raw == {"mof_6s-2-4.csv": data} and intake.source == "mof_csv"


def test_layouts_are_detected(catalogue):
    assert detect_layout((SOURCES / "mof_6s-2-4.csv").read_bytes(), "m") == "mof"
    assert detect_layout((SOURCES / "bp_m_jp.csv").read_bytes(), "b") == "boj-flat"
    intake = read_input(SOURCES / "bp_m_en.csv", "auto", "2024-07-10", catalogue, Path("unused"))
    assert intake.source == "boj_flat"


def test_boj_bulk_file_in_japanese_matches_rows_by_code_and_by_name(catalogue):
    intake = read_boj_flat(
        (SOURCES / "bp_m_jp.csv").read_bytes(), "bp_m_jp.csv", "2024-07-10", catalogue, catalogue.verified_codes()
    )
    figures = intake.figures
    series = set(figures["item"] + "." + figures["flow"])
    assert series == {
        "services_total.balance",
        "copyright_royalties.receipts",
        "copyright_royalties.payments",
        "copyright_royalties.balance",
    }
    assert figures["period"].max() == "2024-06"  # the empty future columns 202407, 202408 hold no figure
    assert figure(figures, "copyright_royalties.payments", "2024-03") == 940
    assert intake.details == {"layout": "BOJ bulk BP", "rows_matched": 4, "rows_skipped": 2}  # current account, SA


def test_boj_bulk_file_uses_codes_resolved_through_get_metadata(catalogue, tmp_path):
    entry = catalogue.series["copyright_royalties.receipts"]
    (tmp_path / CODES_FILE).write_text(
        json.dumps(
            {
                "codes": {
                    "copyright_royalties.receipts": {
                        "db": "BP01",
                        "code": "TESTCR01",
                        "name_ja": entry.name_ja,
                        "basis": "getMetadata test",
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    codes = load_resolved(tmp_path, catalogue)
    assert codes["copyright_royalties.receipts"].code == "TESTCR01"
    data = ',,,,202401,202402\nTESTCR01,"Balance of Payments","Copyright royalties/Credit","100 million Yen",310,295\n'
    figures = read_boj_flat(data.encode(), "f.csv", AS_OF, catalogue, codes).figures
    assert list(figures["item"] + "." + figures["flow"]) == ["copyright_royalties.receipts"] * 2


def test_bundled_snapshot_round_trips_through_the_bulk_layout(tmp_path, capsys):
    bundled = load_snapshot()
    out, data_dir = tmp_path / "bp_export.csv", tmp_path / "vintages"
    export(out, BUNDLED, data_dir, DEFAULT_BOJ_CATALOGUE)
    assert out.read_bytes() == write_boj_flat(bundled.boj_monthly, load_boj_catalogue())
    assert out.read_text().startswith(",,,,199601,199602,")
    import_file(out, Layout.auto, "2026-11-30", data_dir, DEFAULT_BOJ_CATALOGUE)
    assert "new vintage" in capsys.readouterr().out

    store = VintageStore(data_dir)
    imported = store.figures(store.newest())
    key = ["item", "flow", "period"]
    expected = bundled.boj_monthly[COLUMNS].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(imported.sort_values(key).reset_index(drop=True), expected)

    selection = select_data(None, data_dir)
    assert selection.vintage_id == store.newest().id
    pd.testing.assert_frame_equal(
        selection.snapshot.boj_monthly[["ds", *COLUMNS]].reset_index(drop=True),
        bundled.boj_monthly[["ds", *COLUMNS]].reset_index(drop=True),
    )
    catalog = load_catalog(ROOT / "configs" / "series.yaml")
    pd.testing.assert_frame_equal(
        build_panel(selection.snapshot, catalog, catalog.ids()), build_panel(bundled, catalog, catalog.ids())
    )


def test_validate_checks_a_file_and_stores_nothing(tmp_path, capsys):
    data_dir = tmp_path / "vintages"
    validate(SOURCES / "mof_6s-2-4.csv", Layout.auto, "2024-05-10", data_dir, DEFAULT_BOJ_CATALOGUE)
    assert capsys.readouterr().out == (
        "ok: mof_6s-2-4.csv: 210 figures in 14 series (2023-01..2024-03); nothing stored\n"
    )
    with pytest.raises(DataValidationError, match="'2999-01-01' is in the future"):
        import_file(SOURCES / "mof_6s-2-4.csv", Layout.mof, "2999-01-01", data_dir, DEFAULT_BOJ_CATALOGUE)
    assert not data_dir.exists()
