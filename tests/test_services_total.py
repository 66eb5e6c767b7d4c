"""The official monthly services total (BOJ BPBP6JYNSN): a related indicator in the snapshot, its
schema, its series, and how a vintage carries it."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli.vintages import Layout, import_file
from features import schemas
from features.data_defaults import DEFAULT_BOJ_CATALOGUE
from features.errors import DataValidationError
from features.exog import services_total_monthly
from features.snapshot import DEFAULT_SNAPSHOT_DIR, SERVICES_TOTAL_FILE, load_snapshot
from features.snapshot_build import build_snapshot
from features.sources.boj_catalogue import load_boj_catalogue
from features.sources.intake import Intake
from features.vintage_snapshot import SERVICES_TOTAL_CODE, select_data
from features.vintages import VintageStore

ROOT = Path(__file__).resolve().parents[1]
# The reference folder next to the repository, else the test copies (see tests/test_snapshot.py).
SHARED_DATA = ROOT.parent / "shared" / "data"
SHARED_DATA = SHARED_DATA if SHARED_DATA.is_dir() else ROOT / "tests" / "data" / "reference"
INPUT = "japan_services_total_boj_monthly.csv"
SOURCE_ID = "BOJ_API_BP01_SERVICES_2026_09"
MOF = ROOT / "tests" / "data" / "sources" / "mof_6s-2-4.csv"


@pytest.fixture(scope="module")
def snap():
    return load_snapshot()


@pytest.fixture
def snapshot_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "snapshot"
    dst.mkdir()
    for path in DEFAULT_SNAPSHOT_DIR.iterdir():
        shutil.copyfile(path, dst / path.name)
    return dst


# --- the snapshot file ------------------------------------------------------------------------------


def test_loaded_series_spans_367_months_with_the_api_decimals(snap) -> None:
    st = snap.services_total
    assert len(st) == 367 and st["period"].iloc[0] == "1996-01" and st["period"].iloc[-1] == "2026-07"
    assert set(st["series_code"]) == {"BPBP6JYNSN"} and set(st["flow"]) == {"balance"}
    assert set(st["source_id"]) == {SOURCE_ID} and set(st["vintage"]) == {"2026-09-08"}
    assert (st["ds"] == pd.to_datetime(st["period"], format="%Y-%m")).all()
    assert st["value"].dtype == "float64"
    assert st["value"].iloc[0] == -5746.35969473  # not rounded to 億円
    assert st.set_index("period").loc["2026-05", "value"] == -102.5352576
    registered = snap.sources.set_index("source_id").loc[SOURCE_ID]
    assert registered["vintage"] == "2026-09-08" and "not a digital figure" in registered["note"]
    assert snap.vintage == "2026-11-29"  # the snapshot's newest vintage is unchanged


def test_snapshot_file_keeps_the_values_as_written() -> None:
    written = pd.read_csv(DEFAULT_SNAPSHOT_DIR / SERVICES_TOTAL_FILE, dtype=str)
    assert written.columns.tolist() == ["period", "series_code", "flow", "value", "unit", "source_id", "vintage"]
    assert written["value"].iloc[0] == "-5746.35969473" and set(written["unit"]) == {"100m_yen"}
    source = pd.read_csv(SHARED_DATA / INPUT, dtype=str)
    assert written["value"].tolist() == source["value_100m_yen"].tolist()


def test_build_writes_value_text_unchanged(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    for path in SHARED_DATA.iterdir():
        shutil.copyfile(path, shared / path.name)
    text = (shared / INPUT).read_text()
    (shared / INPUT).write_text(text.replace(",-5746.35969473,", ",-5746.359694730,", 1))
    build_snapshot(shared, tmp_path / "out")
    assert "1996-01,BPBP6JYNSN,balance,-5746.359694730," in (tmp_path / "out" / SERVICES_TOTAL_FILE).read_text()
    assert load_snapshot(tmp_path / "out").services_total["value"].iloc[0] == -5746.35969473


def test_build_reports_a_bad_input_row_in_one_line(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    for path in SHARED_DATA.iterdir():
        shutil.copyfile(path, shared / path.name)
    lines = (shared / INPUT).read_text().splitlines()
    lines[3] = lines[3].replace(",balance,", ",net,")
    (shared / INPUT).write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError) as err:
        build_snapshot(shared, tmp_path / "out")
    assert str(err.value) == (
        f"{INPUT}: row 4: flow must be one of receipts|payments|balance (column flow, value 'net')"
    )


BAD_ROWS = [  # (line to replace, replacement, expected message after the file name)
    (
        "1996-02,BPBP6JYNSN,balance,-4706.97674216,",
        "1996-02,BPBP6JYNSN,balance,-47O6.9,",
        "row 3: not a number (column value, value '-47O6.9')",
    ),
    (
        "1996-02,BPBP6JYNSN,balance,-4706.97674216,",
        "1996-13,BPBP6JYNSN,balance,-4706.97674216,",
        "row 3: period must be YYYY-MM (column period, value '1996-13')",
    ),
    (
        "1996-02,BPBP6JYNSN,balance,-4706.97674216,",
        "1996-01,BPBP6JYNSN,balance,-4706.97674216,",
        "row 3: duplicate (period, series_code, flow) (columns period, series_code, flow; "
        "values '1996-01', 'BPBP6JYNSN', 'balance')",
    ),
    (
        "1996-02,BPBP6JYNSN,balance,-4706.97674216,",
        "1996-02,BP01'BPBP6JYNSN,balance,-4706.97674216,",
        "row 3: series_code must be a BOJ code",
    ),
    (
        "1996-02,BPBP6JYNSN,balance,-4706.97674216,",
        "1996-02,BPBP6JYNSN,payments,-4706.97674216,",
        "row 3: receipts/payments must be >= 0 (column value, value '-4706.97674216')",
    ),
    (
        "1996-02,BPBP6JYNSN,balance,-4706.97674216,100m_yen",
        "1996-02,BPBP6JYNSN,balance,-4706.97674216,yen",
        "row 3: unit must be one of 100m_yen (column unit, value 'yen')",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD_ROWS)
def test_malformed_row_is_one_line_error(snapshot_copy: Path, old: str, new: str, expected: str) -> None:
    path = snapshot_copy / SERVICES_TOTAL_FILE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(DataValidationError) as err:
        load_snapshot(snapshot_copy)
    message = str(err.value)
    assert "\n" not in message and err.value.__cause__ is None
    assert message.startswith(f"{SERVICES_TOTAL_FILE}: {expected}")


def test_schema_checks_receipts_minus_payments() -> None:
    rows = pd.DataFrame(
        [
            ("2026-07", "TESTRECEIPTS", "receipts", "100.5"),
            ("2026-07", "TESTPAYMENTS", "payments", "50.25"),
            ("2026-07", "BPBP6JYNSN", "balance", "40.0"),
        ],
        columns=["period", "series_code", "flow", "value"],
    ).assign(unit="100m_yen", source_id=SOURCE_ID, vintage="2026-09-08")
    with pytest.raises(DataValidationError, match=r"^x\.csv: row 4: balance != receipts - payments"):
        schemas.validate(rows, schemas.SERVICES_TOTAL_MONTHLY, "x.csv")
    rows.loc[2, "value"] = "50.25"
    assert schemas.validate(rows, schemas.SERVICES_TOTAL_MONTHLY, "x.csv")["value"].tolist() == [100.5, 50.25, 50.25]


def test_file_is_checked_against_sources_and_manifest(snapshot_copy: Path) -> None:
    sources = snapshot_copy / "sources.csv"
    sources.write_text(
        "\n".join(line for line in sources.read_text().splitlines() if not line.startswith(SOURCE_ID)) + "\n"
    )
    with pytest.raises(DataValidationError, match=rf"^{SERVICES_TOTAL_FILE}: row 2: source_id not in sources\.csv"):
        load_snapshot(snapshot_copy)
    shutil.copyfile(DEFAULT_SNAPSHOT_DIR / "sources.csv", sources)
    path = snapshot_copy / SERVICES_TOTAL_FILE
    path.write_text(path.read_text().replace("-5746.35969473", "-5746.35969474", 1))
    with pytest.raises(DataValidationError, match=rf"^MANIFEST\.json: sha256 of {SERVICES_TOTAL_FILE} does not match"):
        load_snapshot(snapshot_copy)
    path.unlink()
    with pytest.raises(DataValidationError, match=rf"^{SERVICES_TOTAL_FILE}: file not found"):
        load_snapshot(snapshot_copy)


# --- the series ---------------------------------------------------------------------------------------


def test_services_total_monthly(snap) -> None:
    s = services_total_monthly(snap)
    assert s.name == "services_total" and s.index.name == "ds" and s.index.freq == "MS" and s.dtype == "float64"
    assert len(s) == 367 and s.index[0] == pd.Timestamp("1996-01-01") and s.index[-1] == pd.Timestamp("2026-07-01")
    assert s.iloc[0] == -5746.35969473 and not s.isna().any()
    # A missing month stays a NaN row: nothing is filled.
    st = snap.services_total
    gappy = dataclasses.replace(snap, services_total=st[st["period"] != "2020-05"].reset_index(drop=True))
    g = services_total_monthly(gappy)
    assert len(g) == 367 and np.isnan(g[pd.Timestamp("2020-05-01")]) and g.isna().sum() == 1
    pd.testing.assert_series_equal(
        g.drop(pd.Timestamp("2020-05-01")), s.drop(pd.Timestamp("2020-05-01")), check_freq=False
    )


# --- vintages -------------------------------------------------------------------------------------


def test_catalogue_names_the_same_series() -> None:
    entry = load_boj_catalogue().series["services_total.balance"]
    assert entry.code == SERVICES_TOTAL_CODE and entry.verified and entry.db == "BP01"


def test_boj_vintage_replaces_the_months_it_covers(tmp_path: Path) -> None:
    bundled = load_snapshot()
    rows = [
        ("2026-06", "services_total", "balance", -2300.5, "100m_yen"),  # a revision
        ("2026-07", "services_total", "balance", -5000.25, "100m_yen"),
        ("2026-08", "services_total", "balance", -1234.0, "100m_yen"),  # a new month
        ("2026-08", "copyright_royalties", "balance", -900.0, "100m_yen"),
    ]
    store = VintageStore(tmp_path)
    store.save(
        Intake(
            pd.DataFrame(rows, columns=["period", "item", "flow", "value", "unit"]),
            "boj_api",
            "http://127.0.0.1/api/v1/",
            "2026-11-20T08:50:00+09:00",
        )
    )
    info = store.newest()
    snap = select_data(None, tmp_path).snapshot
    st = snap.services_total.set_index("period")
    assert len(st) == 368 and st.index[-1] == "2026-08" and snap.services_total["ds"].is_monotonic_increasing
    assert st.loc["2026-06", "value"] == -2300.5 and st.loc["2026-08", "value"] == -1234.0
    assert (st.loc[["2026-06", "2026-07", "2026-08"], "source_id"] == info.source_id).all()
    assert (st.loc[["2026-06", "2026-07", "2026-08"], "vintage"] == "2026-11-20").all()
    assert set(st["series_code"]) == {SERVICES_TOTAL_CODE}
    untouched = bundled.services_total.set_index("period").drop(["2026-06", "2026-07"])
    pd.testing.assert_frame_equal(st.loc[untouched.index], untouched)
    series = services_total_monthly(snap)
    assert len(series) == 368 and series.iloc[-1] == -1234.0 and series.iloc[0] == -5746.35969473
    # A vintage without the services total carries the bundled file over as it is.
    other = tmp_path / "other"
    VintageStore(other).save(
        Intake(
            pd.DataFrame([rows[-1]], columns=["period", "item", "flow", "value", "unit"]),
            "boj_api",
            "http://127.0.0.1/api/v1/",
            "2026-11-20T08:50:00+09:00",
        )
    )
    pd.testing.assert_frame_equal(select_data(None, other).snapshot.services_total, bundled.services_total)


def test_mof_vintage_keeps_the_bundled_services_total(tmp_path: Path) -> None:
    import_file(MOF, Layout.mof, "2024-05-10", tmp_path, DEFAULT_BOJ_CATALOGUE)
    figures = VintageStore(tmp_path).figures(VintageStore(tmp_path).newest())
    assert (figures["item"] == "services_total").any()  # the MOF table has it, but not as BPBP6JYNSN
    snap = select_data(None, tmp_path).snapshot
    pd.testing.assert_frame_equal(snap.services_total, load_snapshot().services_total)
