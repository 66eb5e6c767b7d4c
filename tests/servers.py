"""Start and stop real local servers (mlflow server, mlflow models serve) for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path | None = None, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the whole process group (servers fork workers), SIGKILL what is left."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def kill_now(proc: subprocess.Popen) -> None:
    """SIGKILL the group: a crash, not a shutdown."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def mlflow_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "MLFLOW_REGISTRY"))}
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    # The servers exec uvicorn/gunicorn by name: the venv's bin must be on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def start_server(cmd: list[str], health_url: str, log: Path, **env: str) -> subprocess.Popen:
    """Start ``cmd`` in its own process group, output to ``log``, and wait until it answers."""
    with open(log, "ab") as sink:
        proc = subprocess.Popen(
            cmd, env=mlflow_env(**env), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    wait_healthy(health_url, proc, log)
    return proc


def start_tracking_server(root: Path, port: int) -> subprocess.Popen:
    """``mlflow server`` with a sqlite backend and artifacts on disk, one worker, on 127.0.0.1."""
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination",
        str(root / "server-artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return start_server(cmd, f"http://127.0.0.1:{port}/health", root / "server.log")


@contextmanager
def tracking_server(root: Path):
    port = free_port()
    proc = start_tracking_server(root, port)
    try:
        yield proc, port
    finally:
        stop(proc)
