"""How every study publishes: one MLflow run, a registered version, then the files, all or nothing.

The run is tagged with the study's lineage (what makes a refresh idempotent) and its kind. The
version is registered before any file is replaced; if writing a file fails (disk full, read-only),
no file is replaced and the registry is put back as it was (:func:`registry.unchanged_on_failure`),
so the files on disk always belong to a registered version.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import mlflow

from experiments.tracking import registry
from experiments.tracking.store import ensure_experiment
from features.atomic import StagedFiles


@dataclass(frozen=True)
class RefreshRun:
    experiment_id: str
    run_id: str
    staged: StagedFiles  # files written (atomically, together) when the publishing block ends


@contextmanager
def publishing(
    client: Any, uri: str, config: Any, study: Any, lineage: dict[str, str], kind: str
) -> Iterator[RefreshRun]:
    """The study's MLflow run (in the experiment named after it) is active inside the block; files
    staged on ``staged`` are written when the block ends. ``config``: the refresh's (mlruns_dir)."""
    experiment_id = ensure_experiment(client, study.name, uri, config.mlruns_dir)
    with registry.unchanged_on_failure(client, study.registered_model), StagedFiles() as staged:
        run_name = f"refresh-{time.strftime('%Y%m%dT%H%M%S')}"
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as active:
            mlflow.set_tags({**lineage, "kind": kind})
            yield RefreshRun(experiment_id, active.info.run_id, staged)


def register_champion(
    client: Any, name: str, model_info: Any, run_id: str, tags: dict[str, str], description: str, reason: str
) -> str:
    """A new version of ``name`` from the logged model, made champion at once (studies whose
    evidence cannot support the champion/challenger gate); returns its number."""
    version = registry.create_version(
        client, name, model_info.model_uri, run_id, model_info.model_id, tags, description=description
    )
    registry.promote(client, name, str(version.version), reason)
    mlflow.set_tag("registered_model_version", str(version.version))
    return str(version.version)
