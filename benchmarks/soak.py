"""Soak: ``deficit refresh`` back to back on one store, watching memory and the store's growth.

Runs the real command N times (default 30) in one working folder with one MLflow store, each with
``--force-promote`` so that every run redoes the whole job (an unforced refresh of unchanged data
is a no-op by design). After each run it records the peak resident memory of the command's process
tree (sampled every 50 ms, as ``refresh.py``), its wall time and the store's size (sqlite database
plus artifacts). A leak shows as peak RSS creeping up run after run; a store that grows faster than
linearly (say, a table copied whole into every run) shows as growing increments.

Targets (issue 12): last-run peak RSS <= first-run peak RSS x 1.10; store growth linear.

    .venv/bin/python benchmarks/soak.py [--runs 30] [--config configs/default.yaml]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, machine, refresh_command  # noqa: E402
from refresh import watch  # noqa: E402


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Slope and R² of a least-squares line."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx
    ss_res = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(xs, ys))
    ss_tot = sum((y - my) ** 2 for y in ys)
    return slope, 1.0 - ss_res / ss_tot if ss_tot else 1.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    args = parser.parse_args()
    print(f"# soak: {machine()}")
    print(f"# {args.runs} x deficit refresh --force-promote --config {args.config}, one folder, one store")
    print(
        f"{'run':>3} {'wall s':>7} {'peak RSS tree MB':>17} {'peak RSS largest MB':>20} {'store MB':>9} "
        f"{'+store MB':>10}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "configs", work / "configs")
        command = refresh_command(work / args.config, "--force-promote")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
        previous = 0
        for i in range(1, args.runs + 1):
            started = time.perf_counter()
            code, err, peak_sum, peak_max = watch(command, work, env)
            elapsed = time.perf_counter() - started
            if code != 0:
                sys.exit(f"error: refresh {i} failed ({code}):\n{err[-2000:]}")
            store = tree_bytes(work / "mlruns")
            rows.append((elapsed, peak_sum, peak_max, store))
            print(
                f"{i:>3} {elapsed:7.1f} {peak_sum / 2**20:17.0f} {peak_max / 2**20:20.0f} {store / 2**20:9.1f} "
                f"{(store - previous) / 2**20:10.2f}",
                flush=True,
            )
            previous = store
    first, last = rows[0], rows[-1]
    peaks = [r[1] for r in rows]
    # the first run is the odd one out for the store (experiment creation, registered model), so the
    # line is fitted on the runs after it
    slope, r2 = linear_fit(list(range(2, len(rows) + 1)), [r[3] for r in rows[1:]])
    increments = [b[3] - a[3] for a, b in zip(rows, rows[1:])]
    print()
    print(
        f"peak RSS tree: first {first[1] / 2**20:.0f} MB, last {last[1] / 2**20:.0f} MB, "
        f"last/first {last[1] / first[1]:.3f}, max {max(peaks) / 2**20:.0f} MB, "
        f"median of last 5 / median of first 5 {statistics.median(peaks[-5:]) / statistics.median(peaks[:5]):.3f}"
    )
    print(
        f"peak RSS largest process: first {first[2] / 2**20:.0f} MB, last {last[2] / 2**20:.0f} MB, "
        f"last/first {last[2] / first[2]:.3f}"
    )
    if len(rows) >= 3:
        print(
            f"store: {last[3] / 2**20:.1f} MB after {len(rows)} runs; {slope / 2**20:.2f} MB per run "
            f"(R^2 {r2:.4f}); increments min {min(increments) / 2**20:.2f}, max {max(increments) / 2**20:.2f} MB"
        )
    print(f"wall: first {first[0]:.1f} s, last {last[0]:.1f} s, median {statistics.median(r[0] for r in rows):.1f} s")


if __name__ == "__main__":
    main()
