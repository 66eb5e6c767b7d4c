"""``deficit backtest`` with its default options on three real BOJ series: does ``auto`` help?

The panel: telecom/computer/information payments and receipts and copyright-royalty payments from
the bundled snapshot (monthly, 1996-01..2017-03, 100 million yen), with ``usdjpy_log`` as an
exogenous column; 36 origins, h = 12, step 1 (cutoffs 2013-04..2016-03).

    .venv/bin/python benchmarks/auto_choice.py [--n-jobs 2]

Prints every row of the command's table (mean MASE and sMAPE over the three series) and, as a
bound no forecaster could have reached, the best *fixed* equal-weight mean of up to four of the
default models chosen on these same test folds (hindsight: it looks at the errors it is scored on).
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import ROOT, machine  # noqa: E402

SERIES = [
    "telecom_computer_information.payments",
    "copyright_royalties.payments",
    "telecom_computer_information.receipts",
]
HORIZON, ORIGINS = 12, 36


def write_panel(path: Path) -> None:
    from features.exog import attach_exog
    from features.series import build_panel, load_catalog
    from features.snapshot import load_snapshot

    snapshot = load_snapshot(None)
    panel = build_panel(snapshot, load_catalog(ROOT / "configs" / "series.yaml"), SERIES, freq="MS")
    attach_exog(panel, snapshot).to_csv(path, index=False, date_format="%Y-%m-%d")


def fold_mase(forecasts: pd.DataFrame, panel: pd.DataFrame, column: str = "yhat") -> pd.Series:
    """Mean MASE per series (per fold: MAE / in-sample seasonal-naive MAE of the fold's training
    window, then the mean over folds), as the engine computes it."""
    out = {}
    for uid, rows in forecasts.groupby("unique_id"):
        y = panel[panel["unique_id"] == uid].set_index("ds")["y"]
        folds = []
        for cutoff, fold in rows.groupby("cutoff"):
            train = y.loc[:cutoff].dropna().to_numpy()
            scale = np.mean(np.abs(train[12:] - train[:-12]))
            folds.append(np.mean(np.abs(fold["y"] - fold[column])) / scale)
        out[uid] = float(np.mean(folds))
    return pd.Series(out)


def hindsight_bound(forecasts: pd.DataFrame, panel: pd.DataFrame, models: list[str]) -> tuple[float, tuple[str, ...]]:
    wide = (
        forecasts[forecasts["model"].isin(models)]
        .pivot_table(index=["unique_id", "cutoff", "ds", "y"], columns="model", values="yhat")
        .reset_index()
    )
    best = (np.inf, ())
    for k in range(2, 5):
        for combo in itertools.combinations(models, k):
            mean = fold_mase(wide.assign(yhat=wide[list(combo)].mean(axis=1)), panel).mean()
            best = min(best, (mean, combo))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-jobs", default="2")
    args = parser.parse_args()
    print(f"# auto_choice: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "panel.csv", Path(tmp) / "out"
        write_panel(data)
        command = [
            str(ROOT / ".venv" / "bin" / "deficit"),
            "backtest",
            "--data",
            str(data),
            "--freq",
            "MS",
            "--horizon",
            str(HORIZON),
            "--origins",
            str(ORIGINS),
            "--n-jobs",
            args.n_jobs,
            "--output",
            str(out),
        ]
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"error: deficit backtest failed:\n{proc.stderr[-2000:]}")
        metrics = pd.read_csv(out / "metrics.csv")
        forecasts = pd.read_csv(out / "forecasts.csv", parse_dates=["cutoff", "ds"])
        panel = pd.read_csv(data, parse_dates=["ds"])
    print(f"# {' '.join(command[1:-2])} (defaults otherwise): {elapsed:.0f} s wall")
    table = metrics.pivot(index="model", columns="unique_id", values="mase")[SERIES]
    table["mean MASE"] = table.mean(axis=1)
    table["mean sMAPE"] = metrics.groupby("model")["smape"].mean()
    print(table.sort_values("mean MASE").round(3).to_string())
    singles = [m for m in table.index if m not in ("auto", "auto_mean")]
    best_single = table.loc[singles, "mean MASE"].idxmin()
    print(
        f"# auto: {table.loc['auto', 'mean MASE']:.3f}; best single model {best_single}: "
        f"{table.loc[best_single, 'mean MASE']:.3f}; auto_mean (the prior): {table.loc['auto_mean', 'mean MASE']:.3f}"
    )
    bound, combo = hindsight_bound(forecasts, panel, singles)
    print(f"# hindsight bound (best fixed mean of 2-4 default models, chosen on the test folds): {bound:.3f} {combo}")


if __name__ == "__main__":
    main()
