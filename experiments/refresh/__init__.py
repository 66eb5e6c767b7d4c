"""``deficit refresh``: data -> features -> backtest -> MLflow -> registry -> projections.

Everything that can fail on bad input (config, data files, series ids, model names) is checked
before the first write, so a failed refresh leaves the store, the registry and the projection
files as they were. A file lock keeps two refreshes (say, cron overlapping a manual run) from
interleaving.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

import experiments.runtime  # noqa: F401  (environment defaults before mlflow import)
from experiments.config import RefreshConfig, load_config
from experiments.executors import backtest_executor, check_scheduler, with_cli_flags
from experiments.refresh.data import prepare_data
from experiments.scenarios import load_scenarios
from experiments.studies.kinds import StudyCall, study_kinds
from experiments.tracking.lineage import lineage_tags
from experiments.tracking.store import resolve_tracking_uri, use_tracking
from features.atomic import check_writable_dir
from features.errors import RefreshBusy
from features.series import load_catalog
from features.snapshot import Snapshot
from features.sources.boj_api import CREDIT as BOJ_CREDIT
from features.vintage_snapshot import select_data

Progress = Callable[[str, int, int], None]


def _study_inputs(config: RefreshConfig, snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Every study's inputs (kind key -> study name -> inputs), built up front: bad scenario
    files, unknown series and bad data fail here, before any write (the config itself, repeated
    names included, was checked when it was loaded)."""
    kinds = study_kinds()
    load_scenarios(config.scenarios_dir)  # every study's models serve these: bad files fail here
    catalog = load_catalog(config.series_catalog)
    return {
        kind.key: {study.name: kind.prepare(study, config, snapshot, catalog) for study in kind.studies(config)}
        for kind in kinds
    }


def check_refresh(config_path: Path, base: Path | None = None) -> RefreshConfig:
    """What ``run_refresh`` checks before its first write (the config, its scenarios, the local data
    and every study's panel), without fetching, running or writing anything. Returns the config."""
    config, _ = load_config(config_path, base)
    selection = select_data(config.snapshot_dir, config.data.dir, config.data.vintage)
    _study_inputs(config, selection.snapshot)
    return config


def _http_retry_policy(config: RefreshConfig) -> None:
    """MLflow's HTTP client reads its retry policy from the environment on every request; give it
    the config's unless the operator set one explicitly."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(config.tracking_retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", str(config.tracking_backoff_seconds))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def run_refresh(
    config_path: Path,
    base: Path | None = None,
    n_jobs: int | None = None,
    progress: Progress | None = None,
    force_promote: bool = False,
    notice: Callable[[str], None] | None = None,
    scheduler_address: str | None = None,
    dask_local: bool = False,
    wait: bool = False,
) -> list:
    """Run every study of the config. ``notice`` receives lines the caller must show with the
    results (the BOJ credit line when the figures came from the BOJ API). ``scheduler_address`` /
    ``dask_local`` override the config's executor (see experiments/executors.py). ``wait``:
    queue behind a refresh that holds the lock instead of failing with RefreshBusy (exit 75)."""
    config, config_hash = load_config(config_path, base)
    if n_jobs is not None:
        config = config.model_copy(update={"n_jobs": n_jobs})
    config = with_cli_flags(config, scheduler_address, dask_local)
    check_scheduler(config)  # before the data step, which may store a fetched vintage
    # A read-only or nearly full disk is refused here, before any work or write.
    check_writable_dir(config.output_dir, config.min_free_mb, "output directory")
    check_writable_dir(config.mlruns_dir, config.min_free_mb, "MLflow store directory")
    refresh_data = prepare_data(config, warn=lambda message: print(message, file=sys.stderr))
    if refresh_data.from_boj_api and notice is not None:
        notice(BOJ_CREDIT)
    snapshot = refresh_data.selection.snapshot
    inputs = _study_inputs(config, snapshot)

    uri = resolve_tracking_uri(config.tracking_uri, config.mlruns_dir)
    with _refresh_lock(config, wait):
        _http_retry_policy(config)
        client = use_tracking(uri)
        client.search_experiments(max_results=1)  # an unreachable server fails here, before any work
        credit = BOJ_CREDIT if refresh_data.from_boj_api else None
        shared = _Shared(config, config_hash, snapshot, client, uri, refresh_data.tags(), force_promote)
        with backtest_executor(config) as executor:
            return _run_studies(shared, inputs, executor, progress, credit)


def _run_studies(
    shared: _Shared, inputs: dict[str, dict[str, Any]], executor, progress: Progress | None, credit: str | None
) -> list:
    """Every study, kind after kind (experiments/studies/kinds.py): a later kind may read the
    outcomes of those before it (the mixed-frequency study scores the annual study's forecasts)."""
    outcomes: list = []
    for kind in study_kinds():
        for study in kind.studies(shared.config):
            data = inputs[kind.key][study.name]
            outcomes.append(kind.run(StudyCall(study, data, shared, executor, progress, credit, tuple(outcomes))))
    return outcomes


@dataclass(frozen=True)
class _Shared:
    """What every study of one refresh shares: the first arguments of its run context."""

    config: RefreshConfig
    config_hash: str
    snapshot: Snapshot
    client: Any
    uri: str
    data_tags: dict[str, str]
    force_promote: bool

    def run_args(self, study, fingerprint: str, credit: str | None) -> tuple:
        lineage = lineage_tags(self.snapshot, self.data_tags, fingerprint, self.config_hash)
        return (study, self.config, self.snapshot, self.client, self.uri, lineage, self.force_promote, credit)


@contextmanager
def _refresh_lock(config: RefreshConfig, wait: bool) -> Iterator[None]:
    """One refresh at a time per MLflow store: RefreshBusy (exit 75) at once, or queue with ``wait``."""
    config.mlruns_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(config.mlruns_dir / "refresh.lock"))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise RefreshBusy(
            f"another refresh is running (lock {lock.lock_file}); try again when it ends, or pass --wait"
        ) from None
    try:
        yield
    finally:
        lock.release()
