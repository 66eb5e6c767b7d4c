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
from experiments.studies.annual.outcome import AnnualOutcome
from experiments.studies.annual.study import AnnualRun, prepare_annual_studies, run_annual_study
from experiments.studies.mixed.data import prepare_mixed
from experiments.studies.mixed.study import MixedOutcome, MixedRun, run_mixed_study
from experiments.studies.monthly.study import MonthlyRun, StudyOutcome, run_monthly_study, study_data, study_fingerprint
from experiments.tracking.lineage import lineage_tags
from experiments.tracking.store import resolve_tracking_uri, use_tracking
from features.atomic import check_writable_dir
from features.errors import RefreshBusy
from features.series import load_catalog
from features.snapshot import Snapshot
from features.sources.boj_api import CREDIT as BOJ_CREDIT
from features.vintage_snapshot import select_data

Progress = Callable[[str, int, int], None]


def _study_inputs(config: RefreshConfig, snapshot: Snapshot) -> tuple[dict, dict, dict]:
    """Every study's panel and figures, built up front: unknown series and bad data fail here,
    before any write."""
    catalog = load_catalog(config.series_catalog)
    monthly = {study.name: study_data(snapshot, catalog, study) for study in config.studies}
    annual_data = prepare_annual_studies(config, snapshot, catalog)  # annual studies: same rule
    mixed_data = {s.name: prepare_mixed(snapshot, catalog, s) for s in config.mixed_frequency_studies}
    return monthly, annual_data, mixed_data


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
) -> list[StudyOutcome | AnnualOutcome | MixedOutcome]:
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
    monthly_data, annual_data, mixed_data = _study_inputs(config, snapshot)

    uri = resolve_tracking_uri(config.tracking_uri, config.mlruns_dir)
    with _refresh_lock(config, wait):
        _http_retry_policy(config)
        client = use_tracking(uri)
        client.search_experiments(max_results=1)  # an unreachable server fails here, before any work
        credit = BOJ_CREDIT if refresh_data.from_boj_api else None
        shared = _Shared(config, config_hash, snapshot, client, uri, refresh_data.tags(), force_promote)
        with backtest_executor(config) as executor:
            return _run_studies(shared, (monthly_data, annual_data, mixed_data), executor, progress, credit)


def _run_studies(
    shared: _Shared, data: tuple[dict, dict, dict], executor, progress: Progress | None, credit: str | None
) -> list[StudyOutcome | AnnualOutcome | MixedOutcome]:
    """Every study in order: monthly, annual, then mixed-frequency (which scores the annual
    study's one-year-ahead forecasts beside its own)."""
    config = shared.config
    monthly_data, annual_data, mixed_data = data
    monthly = [
        run_monthly_study(
            MonthlyRun(
                *shared.run_args(study, study_fingerprint(study, config.series_catalog), credit),
                data=monthly_data[study.name],
                executor=executor,
                progress=progress,
            )
        )
        for study in config.studies
    ]
    # The annual backtests stay in this process whatever the executor (see annual/study.py).
    annual = [
        run_annual_study(
            AnnualRun(
                *shared.run_args(study, annual_data[study.name].fingerprint, None),
                data=annual_data[study.name],
                progress=progress,
            )
        )
        for study in config.annual_studies
    ]
    comparator = next((a for a in annual if a.forecasts is not None), None)
    comparison = (comparator.forecasts, comparator.champions) if comparator is not None else (None, {})
    mixed = [
        run_mixed_study(
            MixedRun(
                *shared.run_args(study, mixed_data[study.name].fingerprint, credit),
                data=mixed_data[study.name],
                executor=executor,
                annual=comparison,
            )
        )
        for study in config.mixed_frequency_studies
    ]
    return [*monthly, *annual, *mixed]


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
