"""Bad mixed-frequency settings end in one clear line before anything is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from experiments.config import load_config
from experiments.studies.mixed.data import prepare_mixed
from features.errors import ConfigError, DeficitError, UnknownSeriesError
from features.series import load_catalog
from features.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[1]
MIXED = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))["mixed_frequency_studies"][0]


def _write(tmp: Path, **change) -> Path:
    config = {
        "mlruns_dir": str(tmp / "mlruns"),
        "series_catalog": str(ROOT / "configs" / "series.yaml"),
        "output_dir": str(tmp / "projections"),
        "studies": [
            {
                "name": "ddm",
                "registered_model": "ddm",
                "targets": ["digital_mof3.balance"],
                "models": ["naive"],
                "backtest": {"horizon": 3, "n_origins": 2},
            }
        ],
        "mixed_frequency_studies": [{**MIXED, **change}],
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        ({"approaches": ["state_space", "kalman"]}, "approaches"),
        ({"default_approach": "chow_lin", "approaches": ["state_space"]}, "default_approach"),
        (
            {"identity": {"lhs": "digital_mof3.balance", "plus": ["x.receipts"], "minus": ["digital_mof3.payments"]}},
            "x.receipts",
        ),
        ({"projection_end": "2030-13"}, "projection_end"),
        ({"indicators": ["usdjpy", "usdjpy"]}, "more than once"),
        ({"evidence": {"hide_first": "2016-12", "hide_last": "2014-01"}}, "hide_last"),
        ({"profile_series": {"nope.balance": "digital_proxy.balance"}}, "nope.balance"),
    ],
)
def test_bad_settings_are_one_config_error(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(_write(tmp_path, **change), tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"targets": ["nope.balance"], "identity": None, "profile_series": {}}, UnknownSeriesError, "nope.balance"),
        (
            {"targets": ["digital_proxy.balance"], "identity": None, "profile_series": {}},
            ConfigError,
            "no monthly and published figures",
        ),
        ({"profile_series": {"digital_mof3.balance": "nope.balance"}}, UnknownSeriesError, "nope.balance"),
    ],
)
def test_bad_series_fail_while_preparing(tmp_path, change, error, message):
    config, _ = load_config(_write(tmp_path, **change), tmp_path)
    with pytest.raises(error, match=message):
        prepare_mixed(
            load_snapshot(), load_catalog(ROOT / "configs" / "series.yaml"), config.mixed_frequency_studies[0]
        )


def test_the_refresh_refuses_a_bad_mixed_study_before_writing(tmp_path):
    path = _write(tmp_path, targets=["nope.balance"], identity=None, profile_series={})
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown annual series 'nope.balance'") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "projections").exists() and not (tmp_path / "mlruns").exists()
    assert issubclass(UnknownSeriesError, DeficitError)
