"""A small refresh config (one monthly study, its store and outputs in a test's folder) and the
environment to run the CLI in, shared by the tests that run many refreshes."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def write_small_config(
    tmp: Path, name: str, registered_model: str, targets: list[str], models: list[str], **backtest
) -> Path:
    study = {
        "name": name,
        "registered_model": registered_model,
        "targets": targets,
        "models": models,
        "backtest": {"horizon": 3, "n_origins": 2, **backtest},
        "projection_horizon": 6,
    }
    config = {
        "mlruns_dir": str(tmp / "mlruns"),
        "series_catalog": str(ROOT / "configs" / "series.yaml"),
        "output_dir": str(tmp / "projections"),
        "n_jobs": 1,
        "studies": [study],
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def cli_env() -> dict[str, str]:
    """This process's environment without a tracking URI of its own (each test has its store)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
