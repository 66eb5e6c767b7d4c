"""Serving and a shared tracking server, with the real processes on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from servers import free_port, kill_now, mlflow_env, start_server, start_tracking_server, stop, tracking_server

ROOT = Path(__file__).resolve().parents[1]
NAME = "serve-test"
pytestmark = pytest.mark.slow
LINEAGE = ("data_sha256", "study_sha256", "config_sha256", "code_version", "recipe", "gate_decision")


def write_config(tmp: Path, models: str = "[seasonal_naive, theta, sarimax]", origins: int = 3) -> Path:
    text = f"""
    mlruns_dir: {tmp / "mlruns"}
    series_catalog: {ROOT / "configs" / "series.yaml"}
    output_dir: {tmp / "projections"}
    n_jobs: 1
    tracking_retries: 1
    tracking_backoff_seconds: 1
    studies:
      - name: serve
        registered_model: {NAME}
        targets: [digital_proxy.balance, digital_mof3.balance]
        models: {models}
        backtest: {{horizon: 6, n_origins: {origins}, step: 3}}
        projection_horizon: 6
    """
    path = tmp / "serve.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def cli(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def request_frame() -> pd.DataFrame:
    months = pd.date_range("2017-04-01", periods=6, freq="MS")
    frame = pd.DataFrame(
        {"unique_id": ["digital_proxy.balance"] * 6 + ["digital_mof3.balance"] * 6, "ds": list(months) * 2}
    )
    frame["usdjpy"] = np.r_[np.linspace(110, 120, 6), np.linspace(110, 120, 6)]
    return frame


def test_rest_serving_matches_python_api(tmp_path):
    cfg = write_config(tmp_path)
    env = mlflow_env()
    refresh = cli(["refresh", "--config", str(cfg)], tmp_path, env)
    assert refresh.returncode == 0, refresh.stderr[-2000:]

    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    frame = request_frame()
    expected = mlflow.pyfunc.load_model(f"models:/{NAME}@champion").predict(frame)

    port = free_port()
    server = start_server(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            f"models:/{NAME}@champion",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--workers",
            "1",
        ],
        f"http://127.0.0.1:{port}/ping",
        tmp_path / "serve.log",
        MLFLOW_TRACKING_URI=uri,
    )
    try:
        body = {
            "dataframe_split": json.loads(
                frame.assign(ds=frame["ds"].dt.strftime("%Y-%m-%d")).to_json(orient="split", index=False)
            ),
            "params": {},
        }
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as response:
            served = pd.DataFrame(json.loads(response.read())["predictions"])

        def ask(_: int) -> list[dict]:
            with urllib.request.urlopen(req, timeout=120) as answer:
                return json.loads(answer.read())["predictions"]

        # 20 requests at once: every answer equals the first (and so pyfunc.predict, below)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(ask, range(20)))
    finally:
        stop(server)
    assert len(answers) == 20
    for answer in answers:
        pd.testing.assert_frame_equal(pd.DataFrame(answer), served)
    assert list(served.columns) == list(expected.columns)
    assert served["unique_id"].tolist() == expected["unique_id"].tolist()
    assert (pd.to_datetime(served["ds"]).dt.tz_localize(None) == pd.to_datetime(expected["ds"])).all()
    for col in expected.columns[2:]:
        np.testing.assert_allclose(served[col].to_numpy(float), expected[col].to_numpy(float), rtol=0, atol=1e-9)


def test_refresh_and_predict_through_a_tracking_server(tmp_path):
    with tracking_server(tmp_path) as (_, port):
        env = mlflow_env(MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
        refresh = cli(["refresh", "--config", str(write_config(tmp_path))], tmp_path, env)
        assert refresh.returncode == 0, refresh.stderr[-2000:]
        predict = cli(
            ["predict", "--horizon", "4", "--model-uri", f"models:/{NAME}@champion", "--format", "json"], tmp_path, env
        )
        assert predict.returncode == 0, predict.stderr[-2000:]
        rows = json.loads(predict.stdout)
        assert len(rows) == 8 and {r["unique_id"] for r in rows} == {"digital_proxy.balance", "digital_mof3.balance"}
        client = MlflowClient(f"http://127.0.0.1:{port}")
        version = client.get_model_version_by_alias(NAME, "champion")
        assert all(version.tags.get(k) for k in LINEAGE)
        assert not (tmp_path / "mlruns" / "mlflow.db").exists()  # nothing went to the local store


def test_unreachable_server_fails_in_one_line(tmp_path):
    env = mlflow_env(MLFLOW_TRACKING_URI=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    proc = cli(["refresh", "--config", str(write_config(tmp_path))], tmp_path, env, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - started < 120
    assert not (tmp_path / "projections").exists()


def test_server_killed_mid_refresh_leaves_no_version_without_lineage(tmp_path):
    port = free_port()
    server = start_tracking_server(tmp_path, port)
    env = mlflow_env(MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
    refresh = subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", "refresh", "--config", str(write_config(tmp_path, origins=6))],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = MlflowClient(f"http://127.0.0.1:{port}")
    try:
        # Kill the server once the refresh has started writing runs: the job is mid-way through
        # its MLflow phase (child runs, model logging, registration).
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and refresh.poll() is None:
            exp = client.get_experiment_by_name("serve")
            if exp is not None and client.search_runs([exp.experiment_id], max_results=5):
                break
            time.sleep(0.2)
        kill_now(server)
        out, err = refresh.communicate(timeout=300)
    finally:
        stop(server)
    lines = [line for line in err.splitlines() if line.strip()]
    assert refresh.returncode != 0, out[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err[-3000:]

    with tracking_server(tmp_path) as (_, port2):
        client = MlflowClient(f"http://127.0.0.1:{port2}")
        versions = client.search_model_versions(f"name='{NAME}'") if client.search_registered_models() else []
        for v in versions:
            assert all(v.tags.get(k) for k in LINEAGE), (v.version, v.tags)
