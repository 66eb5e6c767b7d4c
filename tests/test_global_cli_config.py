"""Global models at the edges: ``deficit backtest --global-alignment`` and the refresh configs,
which reject them (a study fits and serves one model per target)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli.backtest import backtest
from experiments.config import load_config
from features.errors import ConfigError, DataValidationError
from forecast.models.base import BaseForecaster
from forecast.models.global_base import GlobalForecaster
from forecast.models.registry import MODEL_REGISTRY, is_global_model

STUDY = """
studies:
  - name: s
    registered_model: m
    targets: [digital_proxy.balance]
    models: [naive, pooled_ridge]
"""


def _panel(path: Path) -> Path:
    rng = np.random.default_rng(0)
    frames = []
    for i, n in enumerate((60, 52, 70, 8)):
        t = np.arange(n)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range("1990-01-01", periods=n, freq="MS"),
                    "y": 50 + 10 * i + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n),
                }
            )
        )
    pd.concat(frames).to_csv(path, index=False)
    return path


def _run(data: Path, output: Path, **options) -> None:
    args = {
        "freq": "MS",
        "horizon": 6,
        "origins": 2,
        "step": 6,
        "models": "naive,pooled_ridge",
        "n_jobs": 1,
        "refit_every": 1,
        "warm_start": False,
        "origins_per_task": 12,
        "scheduler_address": None,
        "local_cluster": False,
        "select_k": [1],
        **options,
    }
    backtest(data=data, output=output, **args)


def test_every_registered_model_is_routed_to_exactly_one_contract():
    for name, cls in MODEL_REGISTRY.items():
        assert issubclass(cls, GlobalForecaster) == is_global_model(name) != issubclass(cls, BaseForecaster), name


@pytest.mark.parametrize("alignment", ["date", "position"])
def test_backtest_command_runs_global_and_local_models_side_by_side(tmp_path, alignment):
    out = tmp_path / "out"
    _run(_panel(tmp_path / "panel.csv"), out, global_alignment=alignment)
    forecasts = pd.read_csv(out / "forecasts.csv")
    counts = forecasts.groupby("model")["unique_id"].nunique().to_dict()
    assert counts == {"naive": 3, "pooled_ridge": 3, "select_1": 3, "auto": 3}
    skipped = pd.read_csv(out / "skipped.csv")
    assert set(skipped["unique_id"]) == {"s3"}  # 8 observations: too short for every model


def test_backtest_command_refuses_an_unknown_alignment(tmp_path):
    with pytest.raises(DataValidationError, match="--global-alignment"):
        _run(_panel(tmp_path / "panel.csv"), tmp_path / "out", global_alignment="calendar")
    assert not (tmp_path / "out").exists()


def test_refresh_study_with_a_global_model_is_one_config_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(STUDY, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, base=tmp_path)
    message = str(info.value)
    assert "'pooled_ridge' is a global (cross-series) model" in message and "\n" not in message


def test_annual_study_with_a_global_model_is_refused():
    from pydantic import ValidationError

    from experiments.studies.annual.config import AnnualModelSpec

    with pytest.raises(ValidationError, match="global"):
        AnnualModelSpec(name="pooled", model="pooled_ridge")
