"""Exported CSV cells cannot start a spreadsheet formula; numbers stay numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pandas as pd

from features.csv_export import csv_text, formula_safe, write_csv_atomic

ROOT = Path(__file__).resolve().parents[1]


def test_text_cells_that_start_a_formula_are_quoted_and_numbers_are_not():
    frame = pd.DataFrame(
        {
            "text": ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "plain", None],
            "value": [-5.5, 1.0, -2.0, 0.0, 3.0, -1e9, float("nan")],
            "ds": pd.date_range("2026-01-01", periods=7, freq="MS"),
        }
    )
    safe = formula_safe(frame)
    assert safe["text"].tolist()[:6] == ['\'=HYPERLINK("http://x")', "'+1", "'-2+3", "'@SUM(A1)", "'\tcmd", "plain"]
    assert pd.isna(safe["text"].iloc[6])
    back = pd.read_csv(StringIO(csv_text(frame)))
    assert back["value"].iloc[0] == -5.5 and back["value"].iloc[5] == -1e9  # still numbers
    assert frame["text"].iloc[0].startswith("=")  # the caller's frame is untouched


def test_written_atomically(tmp_path):
    path = tmp_path / "out" / "x.csv"
    write_csv_atomic(path, pd.DataFrame({"a": ["=1"], "b": [-1]}))
    assert path.read_text(encoding="utf-8") == "a,b\n'=1,-1\n"
    assert [p.name for p in path.parent.iterdir()] == ["x.csv"]  # no temporary file left


def test_a_hostile_panel_through_deficit_backtest(tmp_path):
    """A panel whose series id is a formula: the exported forecasts and metrics quote it."""
    months = pd.date_range("2015-01-01", periods=48, freq="MS")
    panel = pd.DataFrame(
        {"unique_id": "=cmd|' /C calc'!A0", "ds": months, "y": [100.0 + i + (i % 12) for i in range(48)]}
    )
    panel.to_csv(tmp_path / "panel.csv", index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.cli",
            "backtest",
            "--data",
            str(tmp_path / "panel.csv"),
            "--freq",
            "MS",
            "--models",
            "naive",
            "--horizon",
            "3",
            "--origins",
            "2",
            "--output",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("forecasts.csv", "metrics.csv"):
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert "\n'=cmd|" in text and "\n=cmd" not in text, name
