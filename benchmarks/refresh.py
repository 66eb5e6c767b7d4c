"""Wall time and peak memory of ``deficit refresh`` with the default config.

Runs the real command in a fresh working folder (a copy of ``configs/``, its own MLflow store and
projections) and samples, every 50 ms, the resident memory of the command's whole process tree
(the CLI plus its joblib workers), whose peak is reported alongside the largest single process.
Targets: <= 60 s and <= 1.5 GB peak on this 2-core machine.

These VMs' speed drifts by tens of percent from hour to hour, so an absolute time alone says little
about a change. ``--against REV`` checks REV out into a temporary git worktree and runs its refresh
(its code and its configs, the same venv) alternately with this tree's, printing each run and the
ratio of the mean walls, measured side by side.

    .venv/bin/python benchmarks/refresh.py [--config configs/default.yaml] [--repeats 1] [--against REV]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil  # noqa: E402
from _common import ROOT, machine, refresh_command  # noqa: E402


def tree_rss(process: psutil.Process) -> tuple[int, int]:
    """(sum, max) resident bytes over the process and its live descendants."""
    sizes = []
    for p in [process, *process.children(recursive=True)]:
        try:
            sizes.append(p.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return sum(sizes), max(sizes, default=0)


def watch(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, int, int]:
    """Run ``command`` to its end, sampling its process tree's memory every 50 ms:
    (exit code, stderr, peak summed RSS, peak RSS of the largest process)."""
    # stderr goes to a file, not a pipe nobody reads while the command runs (a full pipe would block it)
    with tempfile.TemporaryFile(mode="w+") as errors:
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        watched = psutil.Process(child.pid)
        peak_sum = peak_max = 0
        while child.poll() is None:
            total, largest = tree_rss(watched)
            peak_sum, peak_max = max(peak_sum, total), max(peak_max, largest)
            time.sleep(0.05)
        errors.seek(0)
        return child.returncode, errors.read(), peak_sum, peak_max


def run_once(config: Path, tree: Path = ROOT) -> tuple[float, int, int, int]:
    """One refresh of ``tree``'s code and configs in a fresh folder: (wall s, peak tree RSS, peak
    largest RSS, exit code). The venv is this checkout's; ``PYTHONPATH`` puts ``tree`` first."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(tree / "configs", work / "configs")
        command = refresh_command(work / config)
        env = {**os.environ, "PYTHONPATH": str(tree)}
        start = time.perf_counter()
        code, err, peak_sum, peak_max = watch(command, work, env)
        elapsed = time.perf_counter() - start
        if code != 0:
            sys.exit(f"error: deficit refresh failed ({code}):\n{err[-2000:]}")
        return elapsed, peak_sum, peak_max, code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--against", metavar="REV", help="also time this git revision, alternately")
    args = parser.parse_args()
    print(f"# refresh: {machine()}")
    print(f"# deficit refresh --config {args.config} in a fresh folder (new MLflow store each run)")
    print(f"{'run':>3} {'code':<12} {'wall s':>8} {'peak RSS tree MB':>17} {'peak RSS largest MB':>20}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": ROOT}
        if args.against:
            other = Path(tmp) / "against"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(other), args.against], check=True
            )
            trees[args.against[:12]] = other
        walls: dict[str, list[float]] = {name: [] for name in trees}
        try:
            for i in range(1, args.repeats + 1):
                for name, tree in trees.items():
                    elapsed, peak_sum, peak_max, _ = run_once(args.config, tree)
                    walls[name].append(elapsed)
                    print(
                        f"{i:>3} {name:<12} {elapsed:8.1f} {peak_sum / 2**20:17.0f} {peak_max / 2**20:20.0f}",
                        flush=True,
                    )
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
    if args.against:
        mine, theirs = (sum(w) / len(w) for w in walls.values())
        print(f"# mean wall: this tree {mine:.1f} s, {args.against} {theirs:.1f} s, ratio {mine / theirs:.2f}")


if __name__ == "__main__":
    main()
