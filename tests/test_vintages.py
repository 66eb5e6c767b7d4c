"""The vintaged store: content-hash ids, immutability, revisions and diff, and the overlay of a
vintage on the bundled snapshot."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli.vintages import DiffFormat, Layout, diff, import_file, list_vintages, show, validate
from features.data_defaults import BUNDLED, DEFAULT_BOJ_CATALOGUE, NEWEST
from features.errors import DataValidationError
from features.schemas import FLOWS
from features.snapshot import load_snapshot
from features.sources.boj_api import CREDIT
from features.sources.intake import Intake
from features.vintage_snapshot import select_data
from features.vintages import FIGURES, INDEX, VintageStore, VintageStoreError

ROOT = Path(__file__).resolve().parents[1]
SOURCES = Path(__file__).resolve().parent / "data" / "sources"
ORIGINAL, REVISED = SOURCES / "mof_6s-2-4.csv", SOURCES / "mof_6s-2-4_revised.csv"


def import_mof(path: Path, data_dir: Path, as_of: str) -> None:
    import_file(path, Layout.mof, as_of, data_dir, DEFAULT_BOJ_CATALOGUE)


def test_same_file_twice_is_one_vintage_written_once_and_read_only(tmp_path, capsys):
    import_mof(ORIGINAL, tmp_path, "2024-05-10")
    import_mof(ORIGINAL, tmp_path, "2024-05-11")  # another as-of, same figures: same content hash
    first, second = capsys.readouterr().out.splitlines()
    store = VintageStore(tmp_path)
    [info] = store.list()
    assert first.startswith(f"new vintage {info.id}") and second.startswith("no new vintage: the same figures")
    assert info.as_of == "2024-05-10T00:00:00+00:00" and info.source == "mof_csv" and info.figures == 210
    files = [p for p in (tmp_path / info.id).rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"figures.csv", "vintage.json", "mof_6s-2-4.csv"}
    assert all(not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) for p in files)
    assert (tmp_path / info.id / "raw" / "mof_6s-2-4.csv").read_bytes() == ORIGINAL.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))


REVISIONS = {  # (series, period): (old, new) -- what the revised fixture changes, and nothing else
    ("ip_charges.balance", "2024-02"): (4410.0, 4447.0),
    ("telecom_computer_information.balance", "2024-02"): (-2054.0, -2106.0),
    ("services_total.balance", "2024-03"): (-1655.0, -1775.0),
}


def test_revised_file_is_a_second_vintage_and_diff_lists_exactly_the_revised_figures(tmp_path, capsys):
    import_mof(ORIGINAL, tmp_path, "2024-05-10")
    import_mof(REVISED, tmp_path, "2024-06-10")
    store = VintageStore(tmp_path)
    old, new = store.list()
    assert store.newest() == new and new.figures == 224
    capsys.readouterr()

    diff(None, NEWEST, DiffFormat.csv, tmp_path)  # defaults: newest against the one before it
    revised = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert {(r.series, r.period): (r.old, r.new) for r in revised.itertuples()} == REVISIONS
    assert (revised["change"] == revised["new"] - revised["old"]).all()

    diff(old.id[:6], new.id, DiffFormat.table, tmp_path)
    summary = capsys.readouterr().out.splitlines()[0]
    assert summary.endswith("3 revised, 14 added, 0 dropped")  # 2024-04 is new, not a revision
    assert CREDIT not in summary


def test_diff_through_the_real_cli(tmp_path):
    import_mof(ORIGINAL, tmp_path, "2024-05-10")
    import_mof(REVISED, tmp_path, "2024-06-10")
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "data", "diff", "--format", "csv", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    revised = pd.read_csv(io.StringIO(proc.stdout))
    assert set(zip(revised["series"], revised["period"])) == set(REVISIONS)


def test_bad_file_leaves_an_existing_store_as_it_was(tmp_path):
    import_mof(ORIGINAL, tmp_path, "2024-05-10")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(DataValidationError):
        import_mof(ROOT / "tests" / "data" / "bad_inputs" / "mof_gap.csv", tmp_path, "2024-05-10")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_newest_is_by_as_of_time_not_by_import_order(tmp_path):
    import_mof(REVISED, tmp_path, "2024-06-10")
    import_mof(ORIGINAL, tmp_path, "2024-05-10")  # an older release imported later
    store = VintageStore(tmp_path)
    assert store.newest().as_of.startswith("2024-06-10") and store.newest().figures == 224


def test_a_changed_vintage_file_is_detected(tmp_path, capsys):
    import_mof(ORIGINAL, tmp_path, "2024-05-10")
    store = VintageStore(tmp_path)
    info = store.newest()
    path = tmp_path / info.id / FIGURES
    path.chmod(0o644)
    path.write_text(path.read_text().replace("4215", "4216"))
    with pytest.raises(VintageStoreError) as err:
        validate(None, Layout.auto, None, tmp_path, DEFAULT_BOJ_CATALOGUE)
    assert str(err.value) == f"vintage {info.id}: {FIGURES} changed after it was stored (sha256 mismatch)"


def test_vintage_references(tmp_path):
    import_mof(ORIGINAL, tmp_path, "2024-05-10")
    store = VintageStore(tmp_path)
    info = store.newest()
    assert store.get(info.id[:4]) == info and store.get(NEWEST) == info
    for ref in ("ffffffff", info.id[:3]):
        with pytest.raises(VintageStoreError, match="not found"):
            store.get(ref)
    with pytest.raises(VintageStoreError, match="oldest"):
        store.previous(info)
    with pytest.raises(VintageStoreError, match="no vintage in"):
        VintageStore(tmp_path / "empty").get(NEWEST)


def test_list_and_show(tmp_path, capsys):
    list_vintages(tmp_path)
    assert "refresh uses the bundled snapshot" in capsys.readouterr().out
    import_mof(ORIGINAL, tmp_path, "2024-05-10")
    capsys.readouterr()
    list_vintages(tmp_path)
    assert capsys.readouterr().out.startswith("* ")
    show(NEWEST, ["ip_charges.balance"], 2, tmp_path)
    header, source, *table = capsys.readouterr().out.splitlines()
    assert header.startswith("vintage ") and source.startswith("source: MOF")
    assert [line.split() for line in table[2:]] == [["2024-02", "4410"], ["2024-03", "4425"]]
    assert CREDIT not in "".join(table)  # a MOF file: no BOJ API data displayed


# --- the overlay on the bundled snapshot ----------------------------------------------------------------


def save(tmp_path: Path, rows: list[tuple], as_of: str = "2026-11-20T08:50:00+09:00") -> VintageStore:
    figures = pd.DataFrame(rows, columns=["period", "item", "flow", "value", "unit"])
    store = VintageStore(tmp_path)
    store.save(Intake(figures, "boj_api", "http://127.0.0.1/api/v1/", as_of))
    return store


def test_overlay_replaces_whole_item_months_and_keeps_the_rest(tmp_path):
    bundled = load_snapshot()
    store = save(
        tmp_path,
        [
            ("2017-03", "copyright_royalties", "receipts", 500.0, "100m_yen"),
            ("2017-03", "copyright_royalties", "payments", 900.0, "100m_yen"),
            ("2017-03", "copyright_royalties", "balance", -400.0, "100m_yen"),
            ("2017-02", "telecom_computer_information", "balance", -1000.0, "100m_yen"),  # balance only
            ("2017-04", "copyright_royalties", "balance", -410.0, "100m_yen"),  # extends the series
            ("2017-03", "transport", "balance", -5.0, "100m_yen"),  # not a snapshot item: kept, not used
            ("2026-05", "usdjpy", "average", 150.5, "JPY_per_USD"),
        ],
    )
    info = store.newest()
    selection = select_data(None, tmp_path)
    snap = selection.snapshot
    monthly = snap.boj_monthly.set_index(["item", "period", "flow"])

    assert monthly.loc[("copyright_royalties", "2017-03", "payments"), "value"] == 900.0
    assert monthly.loc[("copyright_royalties", "2017-03", "payments"), "source_id"] == info.source_id
    assert monthly.loc[("copyright_royalties", "2017-03", "payments"), "vintage"] == "2026-11-20"
    # A vintage with only the balance of an item-month replaces all of that item-month.
    tci = snap.boj_monthly[
        (snap.boj_monthly["item"] == "telecom_computer_information") & (snap.boj_monthly["period"] == "2017-02")
    ]
    assert list(tci["flow"]) == ["balance"] and tci["value"].iloc[0] == -1000.0
    # Everything else is the bundled figure, with its own lineage.
    untouched = bundled.boj_monthly.set_index(["item", "period", "flow"]).drop(
        [("copyright_royalties", "2017-03", f) for f in FLOWS]
        + [("telecom_computer_information", "2017-02", f) for f in FLOWS]
    )
    pd.testing.assert_frame_equal(monthly.loc[untouched.index], untouched)
    assert "transport" not in set(snap.boj_monthly["item"])
    assert snap.usdjpy.set_index("period").loc["2026-05", "value"] == 150.5
    assert snap.usdjpy["period"].is_monotonic_increasing
    assert info.source_id in set(snap.sources["source_id"])
    assert snap.sha256 != bundled.sha256 and snap.vintage == "2026-11-29"  # bundled vintage is newer here


def test_store_refuses_figures_that_break_the_rules(tmp_path):
    with pytest.raises(DataValidationError, match="balance != receipts - payments"):
        save(
            tmp_path,
            [
                ("2017-03", "copyright_royalties", "receipts", 500.0, "100m_yen"),
                ("2017-03", "copyright_royalties", "payments", 900.0, "100m_yen"),
                ("2017-03", "copyright_royalties", "balance", -100.0, "100m_yen"),
            ],
        )
    assert VintageStore(tmp_path).list() == [] and not list(tmp_path.glob("*/figures.csv"))


def test_selection_names(tmp_path):
    empty = select_data(None, tmp_path / "none")
    assert empty.vintage is None and empty.vintage_id == BUNDLED
    save(tmp_path, [("2017-03", "copyright_royalties", "balance", -400.0, "100m_yen")])
    assert select_data(None, tmp_path, BUNDLED).vintage is None
    assert select_data(None, tmp_path).vintage_id == VintageStore(tmp_path).newest().id
    with pytest.raises(VintageStoreError, match="not found"):
        select_data(None, tmp_path, "abcdef12")
    assert (tmp_path / INDEX).is_file()
