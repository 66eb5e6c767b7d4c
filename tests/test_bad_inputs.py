"""The corpus of bad input files (tests/data/bad_inputs): every one is refused in one line that
names the file, the row where there is one, and the rule; nothing is stored.

Most files go through the function behind ``deficit data import`` in-process; a few go through
the real CLI in a subprocess, which also checks the exit code and that no traceback is printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.cli.vintages import Layout, import_file
from features.data_defaults import DEFAULT_BOJ_CATALOGUE
from features.errors import DeficitError

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "data" / "bad_inputs"
AS_OF = "2026-11-30"

# File -> what the one-line message must say (after the file name).
EXPECTED = {
    # MOF 6s-2-4 layout
    "mof_empty.csv": "empty file",
    "mof_header_only.csv": "no data rows",
    "mof_not_cp932.csv": "row 18: encoding error: not UTF-8 or CP932/Shift-JIS",
    "mof_utf16.csv": "encoding error: the file is UTF-16",
    "mof_duplicate_month.csv": "row 20, column 5: duplicate period (period '2024-02')",
    "mof_non_numeric.csv": "row 11, column 11: not a number (value '12x4')",
    "mof_bad_thousands.csv": "row 12, column 5: not a number (value '-1,23,4')",
    "mof_triangle_negative.csv": "row 13, column 14: not a number (value '△1,908')",
    "mof_unit_million_yen.csv": "row 3: unit mismatch: header states 百万円, expected 億円",
    "mof_unit_missing.csv": "unit mismatch: the header rows state no unit",
    "mof_gap.csv": "row 11, column 5: gap: month(s) missing before this period (period '2023-07')",
    "mof_future_months.csv": "row 6, column 5: future period (after the as-of month 2026-11)",
    "mof_annual_rows.csv": "row 6: unexpected frequency: no month",
    "mof_quarterly_rows.csv": "row 6: unexpected frequency: no month",
    "mof_too_few_columns.csv": "the header has 10 value columns, the 6s-2-4 layout has 14",
    "mof_extra_column.csv": "row 9: unexpected value in column 19",
    "mof_columns_reordered.csv": "column 14 is labelled '通信・コンピュータ・情報サービス",
    "mof_month_labels_disagree.csv": "row 7: month labels disagree (2月 vs 'Mar')",
    "mof_era_mismatch.csv": "row 6: era year 令和6年 is 2024, but the row is in 2023",
    "mof_no_year.csv": "row 6: no year in column 3",
    "mof_bad_year.csv": "row 18: year '2024年' in column 3 is not YYYY",
    # BOJ bulk flat-file layout
    "flat_empty.csv": "empty file",
    "flat_header_only.csv": "no data rows",
    "flat_zip_archive.csv": "a ZIP archive, not a CSV file",
    "flat_not_utf8_or_cp932.csv": "row 5: encoding error: a byte with no character",
    "flat_duplicate_period_column.csv": "row 2, column 202403: duplicate period (period '2024-03')",
    "flat_duplicate_series.csv": "row 6, column 202401: duplicate period (period '2024-01')",
    "flat_non_numeric.csv": "row 2, column 202403: not a number (value '3O0')",
    "flat_infinite_value.csv": "row 4, column 202401: not a finite number (value 'inf')",
    "flat_negative_receipts.csv": "row 2, column 202404: negative receipts/payments (value '-301')",
    "flat_negative_payments.csv": "row 3, column 202402: negative receipts/payments (value '-880')",
    "flat_balance_mismatch.csv": "row 4, column 202405: balance != receipts - payments beyond ±2",
    "flat_unit_mismatch.csv": "row 2, column 202401: unit mismatch",
    "flat_annual_header.csv": "row 2, column 2021: unexpected frequency: period is not a month",
    "flat_gap.csv": "row 2, column 202404: gap: month(s) missing before this period",
    "flat_future_periods.csv": "row 2, column 209901: future period (after the as-of month 2026-11)",
    "flat_ragged_row.csv": "row 3: 11 cells, the header has 10",
    "flat_unknown_series.csv": "no series of boj_series.yaml in this file",
    "flat_three_label_columns.csv": "row 1: 3 label columns; the BP bulk layout has 4",
    "flat_no_label_columns.csv": "row 1: not a BOJ bulk-file header",
    # neither layout (auto-detection)
    "unknown_layout.csv": "unrecognised layout",
}


def layout_of(name: str) -> Layout:
    return Layout.mof if name.startswith("mof_") else Layout.boj_flat if name.startswith("flat_") else Layout.auto


def test_corpus_has_an_expectation_for_every_file():
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.iterdir())
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_refused_in_one_line_and_nothing_is_stored(name, tmp_path):
    data_dir = tmp_path / "vintages"
    with pytest.raises(DeficitError) as err:
        import_file(CORPUS / name, layout_of(name), AS_OF, data_dir, DEFAULT_BOJ_CATALOGUE)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: ") and EXPECTED[name] in message, message
    assert not data_dir.exists()  # not even the store folder


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name", ["mof_unit_million_yen.csv", "flat_balance_mismatch.csv", "flat_zip_archive.csv"])
def test_real_cli_exits_non_zero_with_one_line_and_no_traceback(name, tmp_path):
    proc = cli("data", "import", str(CORPUS / name), "--format", layout_of(name).value, cwd=tmp_path)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {name}: ") and EXPECTED[name] in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "data").exists()  # default store data/vintages untouched
