"""Where MLflow writes, and how a refresh lays out its runs.

The default store is sqlite under ``mlruns/`` (the file store is deprecated and raises in MLflow 3)
with artifacts in ``mlruns/artifacts``. The artifact location is set explicitly on every
experiment we create: left alone, MLflow puts artifacts in ``./mlruns`` of whatever directory the
process runs in, which breaks tests and cron jobs started elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

import experiments.runtime  # noqa: F401  (environment defaults before mlflow import)


def resolve_tracking_uri(configured: str | None, mlruns_dir: Path) -> str:
    """Config value > $MLFLOW_TRACKING_URI > sqlite:////<abs mlruns_dir>/mlflow.db."""
    if configured:
        return configured
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    mlruns_dir = Path(mlruns_dir).resolve()
    mlruns_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{mlruns_dir / 'mlflow.db'}"


def is_local_store(uri: str) -> bool:
    return uri.startswith("sqlite:")


def use_tracking(uri: str) -> MlflowClient:
    """Point this process (tracking and registry) at ``uri``."""
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(client: MlflowClient, name: str, uri: str, mlruns_dir: Path) -> str:
    """Experiment id for ``name``, created with an explicit artifact location for local stores."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    artifact_location = None
    if is_local_store(uri):
        artifact_location = (Path(mlruns_dir).resolve() / "artifacts" / name).as_uri()
    return client.create_experiment(name, artifact_location=artifact_location)
