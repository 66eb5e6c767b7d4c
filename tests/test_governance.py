"""Governance end to end on a real sqlite store: idempotence, gate outcomes, rollback, lineage."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from experiments.refresh import run_refresh
from experiments.tracking import registry

ROOT = Path(__file__).resolve().parents[1]
NAME = "gov-test"
LINEAGE = (
    "data_vintage",
    "data_sha256",
    "study_sha256",
    "config_sha256",
    "code_version",
    "recipe",
    "gate_decision",
    "gate_p_value",
    "backtest_mase_mean",
)
pytestmark = pytest.mark.slow


def config(tmp: Path, models: str, name: str) -> Path:
    text = f"""
    mlruns_dir: {tmp / "mlruns"}
    series_catalog: {ROOT / "configs" / "series.yaml"}
    output_dir: {tmp / "projections"}
    n_jobs: 1
    studies:
      - name: gov
        registered_model: {NAME}
        targets: [digital_proxy.balance, copyright_royalties.balance]
        exog: []
        models: {models}
        backtest: {{horizon: 6, n_origins: 16, step: 1}}
        gate: {{margin: 0.02, alpha: 0.05}}
        projection_horizon: 6
    """
    path = tmp / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    return tmp_path, lambda: MlflowClient(tracking_uri=uri, registry_uri=uri)


def champion_of(client) -> str:
    return str(client.get_registered_model(NAME).aliases["champion"])


def test_same_data_and_config_registers_once(store):
    tmp, client = store
    cfg = config(tmp, "[naive, seasonal_naive]", "a")
    first = run_refresh(cfg, tmp)[0]
    second = run_refresh(cfg, tmp)[0]
    assert first.version == "1" and second.unchanged_version == "1"
    versions = client().search_model_versions(f"name='{NAME}'")
    assert [str(v.version) for v in versions] == ["1"]


def test_gate_promotes_clear_improvement_blocks_worse_and_rollback_restores(store):
    tmp, client = store
    # 1. naive alone becomes the first champion.
    naive = run_refresh(config(tmp, "[naive]", "naive"), tmp)[0]
    assert naive.decision.promote and "first champion" in naive.decision.reason
    # 2. seasonal models are clearly better on these seasonal series: promoted on evidence.
    better = run_refresh(config(tmp, "[naive, seasonal_naive, theta]", "better"), tmp)[0]
    assert better.decision.promote, better.decision.reason
    assert better.decision.p_value < 0.05 and better.decision.improvement > 0.02
    assert champion_of(client()) == better.version
    # 3. drift alone is worse than the champion: registered, but only as challenger.
    worse = run_refresh(config(tmp, "[drift]", "worse"), tmp)[0]
    assert not worse.decision.promote
    c = client()
    assert champion_of(c) == better.version
    assert str(c.get_registered_model(NAME).aliases["challenger"]) == worse.version
    assert (tmp / "projections" / "gov.challenger.csv").exists()
    # 4. every version carries its lineage and gate record.
    for v in c.search_model_versions(f"name='{NAME}'"):
        missing = [k for k in LINEAGE if not v.tags.get(k)]
        assert not missing, (v.version, missing)
    assert c.get_model_version(NAME, worse.version).tags["previous_champion"] == better.version
    # 5. rollback moves @champion back to the naive version; rolling back again has nowhere to go.
    assert registry.rollback(c, NAME) == (better.version, naive.version)
    assert champion_of(c) == naive.version
    with pytest.raises(registry.RegistryError, match="no previous champion"):
        registry.rollback(c, NAME)


def test_force_promote_is_recorded(store):
    tmp, client = store
    run_refresh(config(tmp, "[seasonal_naive, theta]", "good"), tmp)
    forced = run_refresh(config(tmp, "[drift]", "bad"), tmp, force_promote=True)[0]
    assert forced.decision.promote and forced.decision.forced
    tags = client().get_model_version(NAME, forced.version).tags
    assert tags["gate_decision"] == "forced" and "force-promote" in tags["gate_reason"]
    assert champion_of(client()) == forced.version


def test_concurrent_refresh_is_refused_by_the_lock(store):
    from filelock import FileLock

    from features.errors import DeficitError

    tmp, client = store
    (tmp / "mlruns").mkdir()
    with FileLock(str(tmp / "mlruns" / "refresh.lock")):
        with pytest.raises(DeficitError, match="another refresh is running"):
            run_refresh(config(tmp, "[naive]", "locked"), tmp)
    assert not (tmp / "projections").exists()


def test_registry_cli_lists_shows_and_rolls_back(store):
    tmp, client = store
    run_refresh(config(tmp, "[naive]", "one"), tmp)
    run_refresh(config(tmp, "[seasonal_naive]", "two"), tmp, force_promote=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "MLFLOW_REGISTRY"))}

    def deficit(*args):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "experiments.cli",
                "registry",
                *args,
                "--name",
                NAME,
                "--mlruns-dir",
                str(tmp / "mlruns"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    listing = deficit("list")
    assert listing.returncode == 0 and "forced" in listing.stdout and "champion" in listing.stdout
    shown = deficit("show", "champion")
    assert shown.returncode == 0 and "version 2" in shown.stdout and "gate_decision: forced" in shown.stdout
    back = deficit("rollback")
    assert back.returncode == 0 and "version 2 -> 1" in back.stdout
    assert champion_of(client()) == "1"
    bad = deficit("promote", "9")
    assert bad.returncode == 2 and bad.stderr.strip() == f"error: model '{NAME}' has no version 9"
