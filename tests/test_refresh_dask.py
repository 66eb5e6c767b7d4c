"""`deficit refresh` on Dask: same leaderboard, gate and champion as joblib; a bad executor fails first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from experiments.config import load_config
from experiments.executors import executor_label, with_cli_flags
from experiments.refresh import run_refresh
from features.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
NAME = "dask-test"


def config(tmp: Path, models: str, name: str, executor: str = "") -> Path:
    # An explicit store: mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI, which a second store
    # in the same process would otherwise inherit.
    text = f"""
    tracking_uri: sqlite:///{tmp / "mlruns" / "mlflow.db"}
    mlruns_dir: {tmp / "mlruns"}
    series_catalog: {ROOT / "configs" / "series.yaml"}
    output_dir: {tmp / "projections"}
    n_jobs: 2
    {executor}
    studies:
      - name: dask
        registered_model: {NAME}
        targets: [digital_proxy.balance, copyright_royalties.balance]
        exog: []
        models: {models}
        backtest: {{horizon: 6, n_origins: 8, step: 2, origins_per_task: 4}}
        projection_horizon: 6
    """
    path = tmp / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("executor", "message"),
    [
        ("executor: {scheduler_address: 'tcp://127.0.0.1:8786'}", "need backend: dask"),
        ("executor: {backend: joblib, n_workers: 2}", "need backend: dask"),
        (
            "executor: {backend: dask, scheduler_address: 'tcp://127.0.0.1:8786', n_workers: 2}",
            "n_workers sizes a local",
        ),
        ("executor: {backend: ray}", "executor.backend"),
    ],
)
def test_bad_executor_settings_fail_in_one_line(tmp_path, executor, message):
    with pytest.raises(ConfigError, match=message) as err:
        load_config(config(tmp_path, "[naive]", "bad", executor), tmp_path)
    assert "\n" not in str(err.value)


def test_cli_flags_override_the_configured_executor(tmp_path):
    plain, _ = load_config(config(tmp_path, "[naive]", "plain"), tmp_path)
    sized, _ = load_config(config(tmp_path, "[naive]", "sized", "executor: {backend: dask, n_workers: 3}"), tmp_path)
    assert executor_label(plain) == "joblib:2" and executor_label(sized) == "dask-local:3"
    assert executor_label(with_cli_flags(plain, None, False)) == "joblib:2"
    assert executor_label(with_cli_flags(plain, None, True)) == "dask-local:2"  # n_jobs workers
    assert executor_label(with_cli_flags(sized, None, True)) == "dask-local:3"
    assert executor_label(with_cli_flags(sized, "tcp://10.0.0.5:8786", False)) == "dask:tcp://10.0.0.5:8786"
    with pytest.raises(ConfigError, match="exclude each other"):
        with_cli_flags(plain, "tcp://10.0.0.5:8786", True)


FIRST, SECOND = "[naive, seasonal_naive]", "[theta, drift]"


def _registry(tmp: Path) -> list:
    uri = f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    aliases = {k: str(v) for k, v in client.get_registered_model(NAME).aliases.items()}
    keep = ("recipe", "gate_decision", "gate_p_value", "backtest_mase_mean", "previous_champion")
    versions = sorted(
        (str(v.version), {k: v.tags.get(k) for k in keep}) for v in client.search_model_versions(f"name='{NAME}'")
    )
    return [aliases, versions]


@pytest.mark.slow
def test_refresh_on_dask_registers_what_joblib_registers(tmp_path, monkeypatch):
    """A first champion, then a second study whose gate re-runs that champion's recipe (its models
    are not in the second study, so the engine backtests them again on the refresh's executor):
    the first on an existing scheduler, the second on the LocalCluster the refresh starts itself."""
    from distributed import Client, LocalCluster

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    joblib_dir, dask_dir = tmp_path / "joblib", tmp_path / "dask"
    joblib_dir.mkdir(), dask_dir.mkdir()
    expected = [
        run_refresh(config(joblib_dir, FIRST, "first"), joblib_dir)[0],
        run_refresh(config(joblib_dir, SECOND, "second"), joblib_dir)[0],
    ]
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        address = cluster.scheduler_address
        first = run_refresh(config(dask_dir, FIRST, "first"), dask_dir, scheduler_address=address)[0]
        with Client(cluster) as client:
            executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert sum(executed.values()) > 0  # the backtest tasks ran on the cluster's workers
    second = run_refresh(config(dask_dir, SECOND, "second", "executor: {backend: dask, n_workers: 2}"), dask_dir)[0]

    assert expected[1].decision.p_value is not None  # the gate did re-score the first champion
    for joblib_run, dask_run in zip(expected, [first, second]):
        pd.testing.assert_frame_equal(joblib_run.leaderboard, dask_run.leaderboard, check_exact=True)
        pd.testing.assert_frame_equal(joblib_run.projections, dask_run.projections, check_exact=True)
        assert joblib_run.champions == dask_run.champions
        assert (joblib_run.decision.promote, joblib_run.decision.reason, joblib_run.decision.p_value) == (
            dask_run.decision.promote,
            dask_run.decision.reason,
            dask_run.decision.p_value,
        )
    assert _registry(joblib_dir) == _registry(dask_dir)
    runs = MlflowClient(tracking_uri=f"sqlite:///{dask_dir / 'mlruns' / 'mlflow.db'}")
    assert runs.get_run(first.parent_run_id).data.params["executor"] == f"dask:{address}"
    assert runs.get_run(second.parent_run_id).data.params["executor"] == "dask-local:2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_unreachable_scheduler_fails_in_one_line_and_writes_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "MLFLOW_REGISTRY"))}
    env["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "1s"  # Dask's own setting; 30 s by default
    address = f"tcp://127.0.0.1:{_free_port()}"
    cfg = config(tmp_path, "[naive]", "unreachable")
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(cfg), "--scheduler-address", address],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        f"error: Dask scheduler {address} is unreachable: Timed out trying to connect to {address} after 1 s"
    ]
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "projections").exists()
