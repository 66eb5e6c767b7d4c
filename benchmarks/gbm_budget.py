"""Time and accuracy of the gradient-boosted trees in the default refresh, at two boosting budgets
and two differencing lags.

The default config's monthly study (its targets, origins, USD/JPY driver and exogenous modes)
backtests ``gbm`` on one worker, side by side and interleaved: with the class defaults (200
iterations at learning rate 0.05, 12-month differences), with what ``configs/default.yaml`` gives
it (``model_params.gbm``), and with that budget on first differences (``difference_lag: 1``, the
model before 2026-12-06). Prints each run's wall time, the ratio to the class defaults, and the
mean MASE and 80% coverage over the targets, so a setting is kept only if it costs no accuracy.

    .venv/bin/python benchmarks/gbm_budget.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from experiments.config import load_config
    from experiments.studies.monthly.study import backtest_setup, study_data
    from features.series import load_catalog
    from features.snapshot import load_snapshot
    from forecast.backtest.engine import cross_validate, score_forecasts
    from forecast.backtest.executors import JoblibExecutor
    from forecast.models.registry import make_model

    config, _ = load_config(ROOT / "configs" / "default.yaml", base=ROOT)
    study = config.studies[0]
    data = study_data(load_snapshot(), load_catalog(config.series_catalog), study)
    settings, exog = backtest_setup(study)
    configured = study.model_params.get("gbm", {})
    budgets = {
        "class defaults": {},
        "configs/default.yaml": configured,
        "config, first diffs": {**configured, "difference_lag": 1},
    }

    print(f"# gbm budget: {machine()}")
    print(
        f"# study {study.name}: {len(study.targets)} targets, one worker; configured: {budgets['configs/default.yaml']}"
    )
    print("run  budget                  wall s  ratio  mean MASE  cov 80%")
    for repeat in range(1, args.repeats + 1):
        base = None
        for label, params in budgets.items():
            model = {"gbm": make_model("gbm", study.season_length, params)}
            start = time.perf_counter()
            result = cross_validate(data.panel, model, settings, exog_columns=exog, executor=JoblibExecutor(1))
            wall = time.perf_counter() - start
            base = base or wall
            scores = score_forecasts(result.forecasts)
            print(
                f"{repeat:>3}  {label:<22} {wall:7.1f}  {wall / base:5.2f}  {scores['mase'].mean():9.3f}"
                f"  {scores['coverage_80'].mean():7.2f}"
            )


if __name__ == "__main__":
    main()
