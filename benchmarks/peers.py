"""Our backtest against peers on the same series, folds and models, with accuracy alongside.

Peers: sktime 1.2.0 ``evaluate`` (strategy "refit": a cold fit per fold) for ETS and SARIMAX, and
prophet's sequential ``diagnostics.cross_validation`` for Prophet. They run in ``.venv-bench``
(sktime needs pandas < 3.1); ours in this venv. Same 255-point monthly series, 36 cutoffs, h = 12;
each side's time is the shortest of ``--repeats`` runs (the one least disturbed by other work on
the shared machine) after an untimed warm-up, imports excluded.
MASE is computed the same way for every side (per-fold seasonal-naive scale, mean over folds).

Our variants: cold refit at every origin; warm-started refit at every origin; warm-started refit
every 3 origins with state updates in between (``append``/``smooth``). "1w" runs every origin of a
model in one task on one process; "2w" uses 2 joblib workers (origins split into 2 tasks).

    .venv/bin/python benchmarks/peers.py [--repeats 3] [--models ets,sarimax,prophet] [--interleave]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from _common import (  # noqa: E402
    HORIZON,
    N_ORIGINS,
    cutoff_positions,
    fold_mase,
    machine,
    panel_of,
    real_series,
    run_in_bench_venv,
    timed,
)

PEER = {"ets": "sktime-ets", "sarimax": "sktime-sarimax", "prophet": "prophet-cv"}
PEER_LABEL = {"ets": "sktime evaluate", "sarimax": "sktime evaluate", "prophet": "prophet cross_validation"}
VARIANTS = {  # name: (BacktestSettings options, workers)
    "cold 1w": ({"warm_start": False, "refit_every": 1, "origins_per_task": None}, 1),
    "warm 1w": ({"warm_start": True, "refit_every": 1, "origins_per_task": None}, 1),
    "warm k=3 1w": ({"warm_start": True, "refit_every": 3, "origins_per_task": None}, 1),
    "cold 2w": ({"warm_start": False, "refit_every": 1, "origins_per_task": 18}, 2),
    "warm 2w": ({"warm_start": True, "refit_every": 1, "origins_per_task": 18}, 2),
    "warm k=3 2w": ({"warm_start": True, "refit_every": 3, "origins_per_task": 18}, 2),
}


def ours(y: pd.Series, name: str, options: dict, workers: int):
    from forecast.backtest import BacktestSettings, cross_validate
    from forecast.backtest.executors import JoblibExecutor
    from forecast.models.registry import make_model

    settings = BacktestSettings(horizon=HORIZON, n_origins=N_ORIGINS, **options)
    return cross_validate(panel_of(y), {name: make_model(name, 12)}, settings, executor=JoblibExecutor(workers))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="ets,sarimax,prophet")
    parser.add_argument("--interleave", action="store_true", help="alternate peer and our runs, round by round")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    y = real_series()
    first = cutoff_positions(len(y))[0]
    ours(y.iloc[:120], "ets", VARIANTS["cold 2w"][0], 2)  # start the worker pool (untimed)
    print(f"# peers: {machine()}")
    order = "interleaved" if args.interleave else "peer runs first"
    print(
        f"# series {len(y)} points, {N_ORIGINS} cutoffs, h={HORIZON}; best of {args.repeats} ({order}); speed-up = peer s / ours s"
    )
    print(f"{'model':8} {'backtester':26} {'seconds':>8} {'speed-up':>9} {'MASE':>7} {'MASE vs cold':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "series.csv"
        pd.DataFrame({"ds": y.index, "y": y.to_numpy()}).to_csv(path, index=False)
        for name in args.models.split(","):
            variants = {label: v for label, v in VARIANTS.items() if not (name == "prophet" and "k=3" in label)}
            # Prophet has no state update: every origin is a (warm) refit anyway, so no k=3 variants.
            peer_runs, runs = [], {label: [] for label in variants}
            # --interleave: one timed peer run, then each variant once, per round (drifts in the
            # shared machine's load then hit both sides alike); otherwise all peer runs come first.
            for _ in range(args.repeats if args.interleave else 1):
                peer_runs.append(
                    json.loads(
                        run_in_bench_venv(
                            "_peer_runner.py",
                            PEER[name],
                            str(path),
                            str(first),
                            str(N_ORIGINS),
                            "1" if args.interleave else str(args.repeats),
                        )
                    )
                )
                for label, (options, workers) in variants.items():
                    runs[label] += [
                        timed(lambda: ours(y, name, options, workers))
                        for _ in range(1 if args.interleave else args.repeats)
                    ]
            peer = min(peer_runs, key=lambda r: r["seconds"])
            peer_mase = fold_mase(y, {pd.Timestamp(c): v for c, v in peer["forecasts"].items()})
            print(
                f"{name:8} {PEER_LABEL[name]:26} {peer['seconds']:8.2f} {'1.00':>9} {peer_mase:7.4f} {'':>13}",
                flush=True,
            )
            cold_mase = None
            for label in variants:
                seconds = min(t for t, _ in runs[label])
                mase = float(runs[label][0][1].metrics()["mase"].iloc[0])
                cold_mase = mase if label == "cold 1w" else cold_mase
                print(
                    f"{'':8} {'ours ' + label:26} {seconds:8.2f} {peer['seconds'] / seconds:9.2f} {mase:7.4f} "
                    f"{mase / cold_mase - 1:+12.2%}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
