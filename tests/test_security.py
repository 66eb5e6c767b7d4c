"""Security checks of issue 12 item 5: safe YAML, no unpickling outside the registry's artifacts,
outputs inside their folders, no credentials in what a refresh writes, servers on 127.0.0.1.
(Formula-safe CSV exports: tests/test_csv_export.py.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from servers import free_port, start_tracking_server, stop

from experiments.config import load_config
from features.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_TAG = '!!python/object/apply:os.system ["touch {marker}"]'


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _small_config(tmp: Path, **extra) -> dict:
    return {
        "mlruns_dir": str(tmp / "mlruns"),
        "series_catalog": str(ROOT / "configs" / "series.yaml"),
        "output_dir": str(tmp / "projections"),
        "n_jobs": 1,
        "studies": [
            {
                "name": "ddm",
                "registered_model": "ddm-sec",
                "targets": ["digital_mof3.balance"],
                "models": ["naive", "seasonal_naive"],
                "backtest": {"horizon": 3, "n_origins": 2},
            }
        ],
        **extra,
    }


# ---- YAML is loaded safely ----------------------------------------------------------------------------


def test_python_tags_in_a_config_are_refused_not_run(tmp_path):
    marker = tmp_path / "PWNED"
    text = yaml.safe_dump(_small_config(tmp_path)) + f"tracking_uri: {HOSTILE_TAG.format(marker=marker)}\n"
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    proc = cli("refresh", "--config", str(tmp_path / "config.yaml"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert not marker.exists() and not (tmp_path / "mlruns").exists()


def test_python_tags_in_a_scenario_or_lever_file_are_refused_not_run(tmp_path):
    import shutil

    marker = tmp_path / "PWNED"
    folder = tmp_path / "scenarios"
    shutil.copytree(ROOT / "configs" / "scenarios", folder)
    (folder / "levers" / "evil.yaml").write_text(
        f"name: evil\ndescription: {HOSTILE_TAG.format(marker=marker)}\n", encoding="utf-8"
    )
    proc = cli("scenarios", "list", "--dir", str(folder), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert not marker.exists()


def test_every_yaml_read_goes_through_the_safe_loader():
    offenders = []
    for path in [*ROOT.glob("experiments/**/*.py"), *ROOT.glob("features/**/*.py"), *ROOT.glob("forecast/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"yaml\.(load|unsafe_load|full_load|load_all)\(", text):
            line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.start())]
            if "Loader=UniqueKeyLoader" not in line:  # features/yaml_settings.py: a SafeLoader subclass
                offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not offenders, offenders
    from features.yaml_settings import UniqueKeyLoader

    assert issubclass(UniqueKeyLoader, yaml.SafeLoader)


# ---- no unpickling outside the registry's artifacts -----------------------------------------------------


def test_only_the_served_models_unpickle_and_only_their_own_artifacts():
    pattern = re.compile(r"(pickle\.loads?|joblib\.load|cloudpickle\.loads?|read_pickle|dill\.loads?)\(")
    found = {}
    for path in [*ROOT.glob("experiments/**/*.py"), *ROOT.glob("features/**/*.py"), *ROOT.glob("forecast/**/*.py")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if pattern.search(line):
                found.setdefault(str(path.relative_to(ROOT)), []).append(line.strip())
    # forecast/checks.py round-trips a model it has just dumped into an in-memory buffer: no outside bytes.
    round_trip = found.pop("forecast/checks.py", [])
    assert len(round_trip) == 1 and "joblib.load(buffer)" in round_trip[0], round_trip
    assert set(found) == {"experiments/studies/monthly/pyfunc.py", "experiments/studies/annual/pyfunc.py"}, found
    for lines in found.values():
        assert all("context.artifacts[" in line for line in lines), lines


# ---- outputs stay inside their folders ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".hidden", "x\\y", "/abs"])
def test_names_that_would_leave_the_output_folder_are_refused(tmp_path, name):
    for key in ("name", "registered_model"):
        config = _small_config(tmp_path)
        config["studies"][0][key] = name
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        with pytest.raises(ConfigError, match=key):
            load_config(tmp_path / "config.yaml", tmp_path)


# ---- servers bind to 127.0.0.1 --------------------------------------------------------------------------


def test_every_server_the_project_starts_binds_to_loopback():
    """Every place that starts a server (tests, benchmarks, the package, the README's commands)."""
    texts = {
        str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
        for p in [
            *ROOT.glob("tests/*.py"),
            *ROOT.glob("benchmarks/*.py"),
            *ROOT.glob("experiments/**/*.py"),
            *ROOT.glob("features/**/*.py"),
            ROOT / "README.md",
            ROOT / "Makefile",
        ]
        if p.name != "test_security.py"
    }  # this file's patterns are not server starts
    hosts = []
    for name, text in texts.items():
        hosts += [(name, m) for m in re.findall(r'"--host",\s*"([^"]+)"', text)]
        hosts += [(name, m) for m in re.findall(r'"-h",\s*"([^"]+)"', text)]
        hosts += [(name, m) for m in re.findall(r"--host[ =]([0-9.a-z]+)", text)]
        hosts += [(name, m) for m in re.findall(r"\s-h ([0-9.]+)\s", text)]
        hosts += [(name, m) for m in re.findall(r'HTTPServer\(\(\s*"([^"]*)"', text)]
        hosts += [(name, m) for m in re.findall(r'host="([^"]+)"', text)]
    assert hosts, "no server start found: the scan is broken"
    assert all(host == "127.0.0.1" for _, host in hosts), [h for h in hosts if h[1] != "127.0.0.1"]


# ---- credentials in a tracking URI never reach logs, params, tags or the report -----------------------

SECRET = "s3cr3t-Pa55"


@pytest.mark.slow
def test_credentials_in_the_tracking_uri_stay_out_of_everything_written(tmp_path):
    port = free_port()
    server = start_tracking_server(tmp_path, port)
    try:
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(_small_config(tmp_path)), encoding="utf-8")
        uri = f"http://alice:{SECRET}@127.0.0.1:{port}"
        proc = cli("refresh", "--config", str(tmp_path / "config.yaml"), cwd=tmp_path, MLFLOW_TRACKING_URI=uri)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert SECRET not in proc.stdout and SECRET not in proc.stderr
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"http://127.0.0.1:{port}", registry_uri=f"http://127.0.0.1:{port}")
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
        assert runs
        for run in runs:
            assert SECRET not in repr(run.data.params) and SECRET not in repr(run.data.tags)
        for version in client.search_model_versions("name='ddm-sec'"):
            assert SECRET not in repr(version.tags) and SECRET not in (version.source or "")
        for path in (tmp_path / "projections").rglob("*"):
            if path.is_file():
                assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path.name
        for path in (tmp_path / "server-artifacts").rglob("*"):
            if path.is_file() and path.suffix in (".html", ".csv", ".json", ".yaml", ".txt", ".md", ""):
                assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path
    finally:
        stop(server)
    # an unreachable server: the one error line does not echo the credentials either
    dead = cli(
        "refresh",
        "--config",
        str(tmp_path / "config.yaml"),
        cwd=tmp_path,
        MLFLOW_TRACKING_URI=f"http://alice:{SECRET}@127.0.0.1:{free_port()}",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="2",
    )
    assert dead.returncode != 0 and SECRET not in dead.stderr and SECRET not in dead.stdout, dead.stderr


def test_redaction_of_user_and_password_in_urls():
    from features.redact import redact_credentials

    assert (
        redact_credentials("API request to http://alice:pw@127.0.0.1:5000/api failed")
        == "API request to http://***@127.0.0.1:5000/api failed"
    )
    assert redact_credentials("https://token@host/x and sqlite:///a/b.db") == "https://***@host/x and sqlite:///a/b.db"
    assert redact_credentials("no url here: a@b") == "no url here: a@b"
