"""Four refreshes started at once on one store: one runs, the others exit 75 ("busy") or, with
--wait, queue; the registry never gets a duplicate version."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from small_refresh import cli_env, write_small_config

NAME = "concurrent-test"
pytestmark = pytest.mark.slow


def _config(tmp: Path) -> Path:
    return write_small_config(
        tmp,
        "concurrent",
        NAME,
        ["digital_proxy.balance", "digital_mof3.balance"],
        ["naive", "seasonal_naive", "theta"],
        horizon=6,
        n_origins=4,
    )


def _start_four(tmp: Path, *extra: str) -> list[subprocess.CompletedProcess]:
    env = cli_env()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(_config(tmp)), *extra],
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def _versions(tmp: Path) -> list[str]:
    uri = f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return [str(v.version) for v in client.search_model_versions(f"name='{NAME}'")]


def test_one_runs_and_the_others_are_told_the_store_is_busy(tmp_path):
    results = _start_four(tmp_path)
    ran = [r for r in results if r.returncode == 0 and "nothing to do" not in r.stdout]
    busy = [r for r in results if r.returncode == 75]
    assert len(ran) == 1, [(r.returncode, r.stderr[-300:]) for r in results]
    # a process that reached the lock only after the first had finished finds the work done
    late = [r for r in results if r.returncode == 0 and "nothing to do" in r.stdout]
    assert len(busy) + len(late) == 3 and len(busy) >= 2
    for r in busy:
        assert r.stderr.startswith("error: another refresh is running") and r.stderr.count("\n") == 1
        assert "--wait" in r.stderr and "Traceback" not in r.stderr
    assert _versions(tmp_path) == ["1"]


def test_with_wait_every_refresh_finishes_and_none_duplicates(tmp_path):
    results = _start_four(tmp_path, "--wait")
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr[-300:] for r in results]
    assert sum("nothing to do" in r.stdout for r in results) == 3  # same data and settings: one version
    assert _versions(tmp_path) == ["1"]
