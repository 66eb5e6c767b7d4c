"""SIGKILL `deficit refresh` at 20 seeded random moments (backtest, registration, projections,
report): after each kill every alias points at an existing, lineage-tagged version, every output
file is a complete file (the old or the new one), and the lock left by the dead process does not
block the next refresh, which finally runs to the end."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from small_refresh import cli_env, write_small_config

NAME = "crash-test"
KILLS = 20
LINEAGE = ("data_sha256", "study_sha256", "config_sha256", "code_version")
pytestmark = pytest.mark.slow


def _config(tmp: Path) -> Path:
    return write_small_config(tmp, "crash", NAME, ["digital_mof3.balance"], ["naive", "seasonal_naive"])


def _check_store_and_outputs(tmp: Path) -> None:
    db = tmp / "mlruns" / "mlflow.db"
    if db.exists():
        uri = f"sqlite:///{db}"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        models = {m.name: m for m in client.search_registered_models()}
        if NAME in models:
            for alias, version in models[NAME].aliases.items():
                mv = client.get_model_version(NAME, version)  # raises if the alias points nowhere
                assert all(mv.tags.get(k) for k in LINEAGE), (alias, version, mv.tags)
    for path in (tmp / "projections").glob("*"):
        if path.name.startswith("."):
            continue  # a temporary file of an interrupted atomic write (never read)
        if path.suffix == ".csv":
            frame = pd.read_csv(path)
            assert len(frame) == 6 and {"unique_id", "ds", "yhat"} <= set(frame.columns), path.name
        elif path.suffix == ".html":
            assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), path.name


def test_twenty_kills_leave_nothing_torn_and_the_next_refresh_succeeds(tmp_path):
    rng = random.Random(20261204)
    config = _config(tmp_path)
    # how long a whole refresh takes here, to spread the kills over all of its steps
    started = time.monotonic()
    first = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(config)],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    duration = time.monotonic() - started
    survived = 0
    for _ in range(KILLS):
        # --force-promote makes every run do the whole job (same data would otherwise be "nothing to do")
        proc = subprocess.Popen(
            [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(config), "--force-promote"],
            cwd=tmp_path,
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        moment = rng.uniform(0.3, duration)
        try:
            proc.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        _check_store_and_outputs(tmp_path)
        survived += 1
    final = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(config), "--force-promote"],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert final.returncode == 0, final.stderr[-2000:]
    _check_store_and_outputs(tmp_path)
    assert survived == KILLS
    print(f"kills survived: {survived}/{KILLS} (refresh {duration:.1f} s)")


def test_files_lost_after_registration_come_back_from_the_registered_run(tmp_path):
    """A refresh killed after registering but before writing its files: the next refresh finds the
    version already registered ("nothing to do") and restores the files from that run's artifacts."""
    config = _config(tmp_path)
    run = [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(config)]
    first = subprocess.run(run, cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    files = {name: (tmp_path / "projections" / name).read_bytes() for name in ("crash.csv", "crash-report.html")}
    for name in files:
        (tmp_path / "projections" / name).unlink()
    second = subprocess.run(run, cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0 and "nothing to do" in second.stdout, second.stderr[-2000:]
    for name, data in files.items():
        assert (tmp_path / "projections" / name).read_bytes() == data, name
