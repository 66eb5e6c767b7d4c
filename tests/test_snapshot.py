"""Snapshot: deterministic build from the reference files, validation on load, lineage."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from features import schemas
from features.errors import DataValidationError
from features.snapshot import DEFAULT_SNAPSHOT_DIR, MANIFEST, load_snapshot
from features.snapshot_build import build_snapshot
from features.source_registry import SOURCE_REGISTRY

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VENDORED = Path(__file__).resolve().parent / "data" / "reference"
# The reference figures: the folder next to the repository where it exists, else the test copies
# (tests/data/reference, checked against it below), so the rebuild tests run in CI too.
SHARED_DATA = SHARED if SHARED.is_dir() else VENDORED
BAD = Path(__file__).resolve().parent / "data"


def _writable_copy(src: Path, dst: Path) -> Path:
    """Copy files only (the reference folder is read-only; its modes must not be copied)."""
    dst.mkdir(parents=True)
    for path in src.iterdir():
        if path.is_file():
            shutil.copyfile(path, dst / path.name)
    return dst


@pytest.fixture(scope="module")
def snap():
    return load_snapshot()


@pytest.fixture
def snapshot_copy(tmp_path: Path) -> Path:
    return _writable_copy(DEFAULT_SNAPSHOT_DIR, tmp_path / "snapshot")


# --- build -------------------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"reference data folder {SHARED} is absent")
def test_vendored_reference_files_equal_the_reference_folder() -> None:
    vendored = sorted(p.name for p in VENDORED.glob("*.csv"))
    assert len(vendored) == 6
    for name in vendored:
        assert (VENDORED / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_committed_snapshot_equals_fresh_build(tmp_path: Path) -> None:
    manifest = build_snapshot(SHARED_DATA, tmp_path)
    committed = sorted(p.name for p in DEFAULT_SNAPSHOT_DIR.iterdir())
    fresh = sorted(p.name for p in tmp_path.iterdir())
    assert fresh == committed  # also: no temp files left behind
    assert len(fresh) == 8 and "boj_services_total_monthly.csv" in manifest["files"]
    assert set(manifest["files"]) == set(fresh) - {MANIFEST}
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (DEFAULT_SNAPSHOT_DIR / name).read_bytes(), (
            f"{name} differs from a fresh build: run `deficit data snapshot --from ../shared/data`"
        )
    assert manifest["snapshot_vintage"] == "2026-11-29"


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    build_snapshot(SHARED_DATA, tmp_path / "a")
    build_snapshot(SHARED_DATA, tmp_path / "b")
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


def test_build_rejects_source_without_vintage(tmp_path: Path) -> None:
    shared = _writable_copy(SHARED_DATA, tmp_path / "shared")
    fx = shared / "usdjpy.csv"
    lines = fx.read_text().splitlines()
    lines[3] = lines[3].replace("FX_FRED_EXJPUS", "FX_UNKNOWN")
    fx.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=r"^usdjpy\.csv: row 4: source_id not in the source registry"):
        build_snapshot(shared, tmp_path / "out")


def test_build_reports_bad_input_line(tmp_path: Path) -> None:
    shared = _writable_copy(SHARED_DATA, tmp_path / "shared")
    boj = shared / "japan_services_boj_monthly.csv"
    lines = boj.read_text().splitlines()
    assert lines[1].startswith("1996-01,services_total,receipts,")
    lines[1] = lines[1].replace(",receipts,5519,", ",receipts,-5519,")
    boj.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError) as err:
        build_snapshot(shared, tmp_path / "out")
    assert str(err.value).startswith("japan_services_boj_monthly.csv: row 2: receipts/payments must be >= 0")
    assert not (tmp_path / "out" / MANIFEST).exists()


# --- load: contents, spans, lineage -------------------------------------------------------------


def test_monthly_spans(snap) -> None:
    boj = snap.boj_monthly
    assert boj["ds"].min() == pd.Timestamp("1996-01-01")
    assert boj["ds"].max() == pd.Timestamp("2017-03-01")
    assert (boj["ds"] == pd.to_datetime(boj["period"], format="%Y-%m")).all()
    starts = boj.groupby("item")["ds"].min()
    assert starts["prof_mgmt_consulting"] == pd.Timestamp("2014-01-01")
    assert starts["computer"] == pd.Timestamp("2014-01-01")
    assert starts["copyright_royalties"] == pd.Timestamp("1996-01-01")
    # 255 months x 3 flows, none missing inside the span
    assert len(boj[boj["item"] == "copyright_royalties"]) == 255 * 3
    assert set(boj["item"]) == set(schemas.BOJ_ITEMS)
    assert boj["value"].dtype == "float64"


def test_known_figures(snap) -> None:
    boj = snap.boj_monthly
    first = boj[(boj["period"] == "1996-01") & (boj["item"] == "services_total")].set_index("flow")["value"]
    assert first.to_dict() == {"receipts": 5519.0, "payments": 11266.0, "balance": -5746.0}
    annual = snap.digital_annual
    jiji = annual[(annual["source_id"] == "BOP_JIJI_2024CY") & (annual["item"] == "digital_total_mof3")]
    assert jiji[["period", "value", "vintage"]].values.tolist() == [["2024", -66506.0, "2025-02-10"]]
    assert len(annual) == 200
    fx = snap.usdjpy.set_index("period")["value"]
    assert fx["1971-01"] == 358.02 and fx["2026-04"] == 159.1173
    assert snap.usdjpy["ds"].is_monotonic_increasing


def test_every_row_has_registered_source_and_vintage(snap) -> None:
    registered = dict(zip(snap.sources["source_id"], snap.sources["vintage"], strict=True))
    for frame in (
        snap.boj_monthly,
        snap.digital_annual,
        snap.usdjpy,
        snap.ai_adoption,
        snap.wdi_annual,
        snap.services_total,
    ):
        assert frame["source_id"].map(registered).eq(frame["vintage"]).all()
    assert registered["BOJ_BP_M_JP_2017"] == "2017-05-26"
    assert registered["FX_FRED_EXJPUS"] == "2025-05-27"
    assert registered["FX_FRED_DEXJPUS_MONTHLY_MEAN"] == "2026-05-22"
    assert registered["BOP_JIJI_2023CY"] == "2024-02-29"
    assert registered["BOJ_API_BP01_SERVICES_2026_09"] == "2026-09-08"
    assert len(registered) == 36
    assert set(registered) <= set(SOURCE_REGISTRY)


def test_lineage_fields(snap) -> None:
    manifest = (DEFAULT_SNAPSHOT_DIR / MANIFEST).read_bytes()
    assert snap.sha256 == hashlib.sha256(manifest).hexdigest()
    newest = max(
        max(f["vintage"])
        for f in (
            snap.boj_monthly,
            snap.digital_annual,
            snap.usdjpy,
            snap.ai_adoption,
            snap.wdi_annual,
            snap.services_total,
        )
    )
    assert snap.vintage == newest


# --- load: malformed files ------------------------------------------------------------------------

BAD_CASES = [
    ("bad_missing_column.csv", "missing required column (column flow)"),
    ("bad_non_numeric.csv", "row 6: not a number (column value, value '29O')"),
    ("bad_duplicate_period.csv", "row 8: duplicate (period, item, flow)"),
    ("bad_negative_payments.csv", "row 3: receipts/payments must be >= 0"),
    ("bad_balance_mismatch.csv", "row 7: balance != receipts - payments"),
    ("bad_period.csv", "row 5: period must be YYYY-MM (column period, value '2014-13')"),
    ("bad_empty.csv", "unreadable CSV: the file is empty"),
    ("bad_unit.csv", "row 4: unit must be one of 100m_yen (column unit, value 'yen')"),
]


@pytest.mark.parametrize(("fixture", "expected"), BAD_CASES)
def test_malformed_monthly_file_is_one_line_error(snapshot_copy: Path, fixture: str, expected: str) -> None:
    shutil.copyfile(BAD / fixture, snapshot_copy / "boj_services_monthly.csv")
    with pytest.raises(DataValidationError) as err:
        load_snapshot(snapshot_copy)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("boj_services_monthly.csv: ")
    assert expected in message
    assert err.value.__cause__ is None


def test_missing_file(snapshot_copy: Path) -> None:
    (snapshot_copy / "usdjpy_monthly.csv").unlink()
    with pytest.raises(DataValidationError, match=r"^usdjpy_monthly\.csv: file not found"):
        load_snapshot(snapshot_copy)


def test_unreadable_csv(snapshot_copy: Path) -> None:
    (snapshot_copy / "wdi_annual.csv").write_text('period,item\n"1996,unterminated\n')
    with pytest.raises(DataValidationError, match=r"^wdi_annual\.csv: unreadable CSV"):
        load_snapshot(snapshot_copy)


def test_header_only_file(snapshot_copy: Path) -> None:
    (snapshot_copy / "ai_adoption.csv").write_text("period,indicator,value,unit,source_id,vintage\n")
    with pytest.raises(DataValidationError, match=r"^ai_adoption\.csv: no data rows$"):
        load_snapshot(snapshot_copy)


def test_wrong_fx_unit(snapshot_copy: Path) -> None:
    path = snapshot_copy / "usdjpy_monthly.csv"
    path.write_text(path.read_text().replace("JPY_per_USD", "USD_per_JPY", 1))
    with pytest.raises(DataValidationError, match=r"^usdjpy_monthly\.csv: row 2: unit must be one of JPY_per_USD"):
        load_snapshot(snapshot_copy)


def test_several_failures_are_counted(snapshot_copy: Path) -> None:
    path = snapshot_copy / "usdjpy_monthly.csv"
    path.write_text(path.read_text().replace("FX_FRED_EXJPUS,2025-05-27", "FX_FRED_EXJPUS,2025-13-27"))
    with pytest.raises(DataValidationError) as err:
        load_snapshot(snapshot_copy)
    assert str(err.value).startswith("usdjpy_monthly.csv: row 2: vintage must be a valid calendar date")
    assert str(err.value).endswith("; 651 more failure(s)")


def test_edited_but_valid_file_fails_manifest_check(snapshot_copy: Path) -> None:
    path = snapshot_copy / "usdjpy_monthly.csv"
    path.write_text(path.read_text().replace("1971-01,358.02,", "1971-01,358.03,"))
    with pytest.raises(DataValidationError, match=r"^MANIFEST\.json: sha256 of usdjpy_monthly\.csv does not match"):
        load_snapshot(snapshot_copy)


def test_source_missing_from_registry_file(snapshot_copy: Path) -> None:
    path = snapshot_copy / "sources.csv"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith("WDI_CCIS")) + "\n")
    with pytest.raises(DataValidationError, match=r"^wdi_annual\.csv: row \d+: source_id not in sources\.csv"):
        load_snapshot(snapshot_copy)


def test_missing_manifest(snapshot_copy: Path) -> None:
    (snapshot_copy / MANIFEST).unlink()
    with pytest.raises(DataValidationError, match=r"^MANIFEST\.json: file not found"):
        load_snapshot(snapshot_copy)
