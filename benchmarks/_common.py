"""Shared pieces of the benchmark scripts: the real monthly series, fold layout, timing, machine info.

The scripts run from the repository root with the project's venv (``make bench`` or
``.venv/bin/python benchmarks/<name>.py``); peers run in their own venv (``.venv-bench``,
``make bench-setup``) because sktime 1.2.0 needs pandas < 3.1.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
SERIES_ID = "digital_proxy.balance"  # 255 monthly points, 1996-01..2017-03
HORIZON, N_ORIGINS, SEASON = 12, 36, 12


def real_series() -> pd.Series:
    """The bundled BOJ snapshot's digital-proxy balance, monthly, freq MS."""
    from features.series import build_panel, load_catalog
    from features.snapshot import load_snapshot

    panel = build_panel(load_snapshot(None), load_catalog(ROOT / "configs" / "series.yaml"), [SERIES_ID], freq="MS")
    return panel.set_index("ds")["y"].asfreq("MS").rename("y")


def cutoff_positions(n: int) -> list[int]:
    """Positions of the 36 cutoffs of a rolling-origin backtest with h = 12, step 1 (as the engine)."""
    last = n - 1 - HORIZON
    return list(range(last - N_ORIGINS + 1, last + 1))


def panel_of(y: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": SERIES_ID, "ds": y.index, "y": y.to_numpy()})


def refresh_command(config: Path, *flags: str) -> list[str]:
    """``deficit refresh FLAGS --config CONFIG`` through this checkout's venv interpreter (the same
    entry point as ``.venv/bin/deficit``; with ``PYTHONPATH`` it runs another tree's code)."""
    return [str(ROOT / ".venv" / "bin" / "python"), "-m", "experiments.cli", "refresh", *flags, "--config", str(config)]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def fold_mase(y: pd.Series, forecasts: dict[pd.Timestamp, np.ndarray]) -> float:
    """Mean over folds of MAE / in-sample seasonal-naive MAE of that fold's training window (as
    ``forecast.backtest.score_forecasts``), for any backtester's point forecasts keyed by cutoff."""
    from forecast import metrics

    values = []
    for cutoff, mean in forecasts.items():
        position = y.index.get_loc(cutoff)
        actual = y.iloc[position + 1 : position + 1 + len(mean)].to_numpy()
        values.append(metrics.mae(actual, mean) / metrics.mase_scale(y.iloc[: position + 1], SEASON))
    return float(np.mean(values))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    # The load average tells whether other work shared the cores during the run.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.node() or 'host'}: {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, pandas {pd.__version__}; load average before the run {load}"
    )


def require_bench_venv() -> None:
    if not BENCH_PYTHON.exists():
        sys.exit(f"error: {BENCH_PYTHON} not found; run `make bench-setup` first")


def run_in_bench_venv(script: str, *args: str, timeout: int = 3600) -> str:
    """Run ``benchmarks/<script>`` with the peers' venv; return its stdout."""
    require_bench_venv()
    proc = subprocess.run(
        [str(BENCH_PYTHON), str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )
    if proc.returncode != 0:
        sys.exit(f"error: {script} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout
