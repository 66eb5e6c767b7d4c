"""``deficit refresh``: data -> features -> backtest -> MLflow -> registry -> projections.

Everything that can fail on bad input (config, data files, series ids, model names) is checked
before the first write, so a failed refresh leaves the store, the registry and the projection
files as they were. A file lock keeps two refreshes (say, cron overlapping a manual run) from
interleaving.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import experiments.runtime  # noqa: F401  (environment defaults before mlflow import)
import mlflow
import pandas as pd
from filelock import FileLock, Timeout
from threadpoolctl import threadpool_limits

from experiments.annual_study import prepare_annual_studies, run_annual_studies
from experiments.mixed.data import prepare_mixed
from experiments.mixed.study import run_mixed_study
from experiments.config import RefreshConfig, StudyConfig, load_config
from experiments.exog_settings import study_exog_options
from experiments.scenarios import load_scenarios
from experiments import model_registry as registry
from experiments.lineage import lineage_tags, registered_unchanged
from experiments.gate import GateDecision
from experiments.model_publish import log_forecast_model
from experiments.monthly_reconcile import backtest_comparison, reconcile_projections, reconciliation_plan
from experiments.promotion import RECIPE_TAG, gate_candidate, register_candidate, study_recipe
from experiments.projection import period_label, project
from experiments.refresh_data import prepare_data
from experiments.refresh_executor import backtest_executor, check_scheduler, executor_label, with_cli_flags
from experiments.report_html import render_study_report
from experiments.report_inputs import log_report_inputs, study_report
from experiments.run_logging import log_child_runs
from experiments.tracking import ensure_experiment, resolve_tracking_uri, use_tracking
from features.atomic import StagedFiles, check_writable_dir
from features.csv_export import stage_csv
from features.sources.boj_api import CREDIT as BOJ_CREDIT
from features.errors import DeficitError, RefreshBusy
from features.exog import attach_exog, usdjpy_monthly
from features.series import build_panel, load_catalog
from features.snapshot import Snapshot
from features.vintage_snapshot import select_data
from forecast.backtest.engine import BacktestSettings, cross_validate
from forecast.backtest.ensemble import add_selected_ensemble, select_members
from forecast.backtest.exog_report import exog_mode_board
from forecast.backtest.executors import Executor, JoblibExecutor
from forecast.backtest.leaderboard import best_models, leaderboard
from forecast.models.ensemble import EnsembleForecaster
from forecast.models.registry import make_model

EXOG_COLUMNS = {"usdjpy": "usdjpy_log"}
Progress = Callable[[str, int, int], None]


@dataclass
class StudyOutcome:
    """What a study's refresh did. ``unchanged_version`` is set (and the rest empty) when the same
    data and study settings were already registered, so nothing was recomputed."""

    study: str
    registered_model: str
    seconds: float
    unchanged_version: str | None = None
    leaderboard: pd.DataFrame | None = None
    projections: pd.DataFrame | None = None
    skipped: pd.DataFrame | None = None
    champions: dict[str, str] | None = None
    metric: str = "mase"
    version: str | None = None
    decision: GateDecision | None = None
    parent_run_id: str | None = None
    projections_path: Path | None = None
    report_path: Path | None = None
    exog_board: pd.DataFrame | None = None  # forecast vs oracle drivers (experiments/report_exog.py)
    reconciliation: pd.DataFrame | None = None  # backtest MASE, base vs reconciled (reconcile: on)
    publication_lag_days: int = 0


def study_fingerprint(study: StudyConfig, catalog_path: Path) -> str:
    """Hash of everything that defines a study's result apart from the data: its settings and
    the series definitions. Two refreshes with the same fingerprint and data are the same job."""
    payload = study.model_dump_json() + Path(catalog_path).read_text(encoding="utf-8")
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class StudyData:
    panel: pd.DataFrame  # unique_id, ds, y and the exogenous columns
    source_vintage: dict[str, str]  # as-of date of each target's figures


def _study_data(snapshot: Snapshot, catalog, study: StudyConfig) -> StudyData:
    panel = build_panel(snapshot, catalog, study.targets, freq=study.freq)
    if study.exog:
        panel = attach_exog(panel, snapshot, freq=study.freq)
    return StudyData(panel, {uid: catalog.source_vintage(snapshot, uid) for uid in study.targets})


def _fit_champion(name: str, uid: str, study: StudyConfig, result, y: pd.Series, X: pd.DataFrame | None):
    if name == "ensemble":
        members = select_members(result, uid, k=study.ensemble.k, metric=study.backtest.metric)
        estimator = EnsembleForecaster(
            estimators=[(m, make_model(m, study.season_length, study.model_params.get(m))) for m in members],
            method=study.ensemble.method,
        )
    else:
        estimator = make_model(name, study.season_length, study.model_params.get(name))
    return estimator.fit(y, X if estimator.uses_exog else None)


def _series_of(panel: pd.DataFrame, uid: str, freq: str, exog: list[str]) -> tuple[pd.Series, pd.DataFrame | None]:
    rows = panel[panel["unique_id"] == uid].set_index("ds").asfreq(freq)
    return rows["y"], (rows[exog] if exog else None)


def run_study(
    study: StudyConfig,
    config: RefreshConfig,
    config_hash: str,
    snapshot: Snapshot,
    data: StudyData,
    client,
    uri: str,
    progress: Progress | None = None,
    force_promote: bool = False,
    data_tags: dict[str, str] | None = None,
    credit: str | None = None,
    executor: Executor | None = None,
) -> StudyOutcome:
    started = time.perf_counter()
    executor = executor or JoblibExecutor(config.n_jobs)
    lineage = lineage_tags(snapshot, data_tags, study_fingerprint(study, config.series_catalog), config_hash)
    def outputs(version) -> dict[str, Path]:
        champion = registry.alias_version(client, study.registered_model, "champion")
        suffix = "" if champion is not None and champion.version == version.version else ".challenger"
        return {"projections.csv": config.output_dir / f"{study.name}{suffix}.csv",
                "report.html": config.output_dir / f"{study.name}{suffix}-report.html"}

    unchanged = registered_unchanged(client, study.registered_model, lineage, force_promote, outputs)
    if unchanged is not None:
        return StudyOutcome(study.name, study.registered_model, time.perf_counter() - started,
                           unchanged_version=unchanged)

    panel = data.panel
    exog = [EXOG_COLUMNS[e] for e in study.exog]
    bt = study.backtest
    settings = BacktestSettings(
        horizon=bt.horizon, n_origins=bt.n_origins, step=bt.step, refit_every=bt.refit_every,
        warm_start=bt.warm_start, origins_per_task=bt.origins_per_task, share_features=bt.share_features,
        season_length=study.season_length,
        exog_mode=bt.exog_mode, publication_lag_days=bt.publication_lag_days, exog_options=study_exog_options(bt),
    )
    base_models = {
        name: make_model(name, study.season_length, study.model_params.get(name))
        for name in study.models if name != "ensemble"
    }
    report = (lambda done, total: progress(study.name, done, total)) if progress else None
    result = cross_validate(panel, base_models, settings, exog_columns=exog, progress=report, executor=executor)
    if "ensemble" in study.models:
        result = add_selected_ensemble(result, k=study.ensemble.k, method=study.ensemble.method, metric=bt.metric)
    board = leaderboard(result, metric=bt.metric)
    exog_board = exog_mode_board(result)  # oracle rows are labelled upper bounds, never ranked
    champions = best_models(result, metric=bt.metric)
    if not champions:
        reasons = "; ".join(sorted(set(result.skipped["reason"])))[:300] or "no backtest origin fits the data"
        raise DeficitError(f"study {study.name}: no model could be backtested on any target ({reasons})")
    recipe = study_recipe(study, champions)
    decision, previous = gate_candidate(client, study, result, champions, panel, settings, exog,
                                        executor, force_promote)

    estimators = {}
    # One BLAS/OpenMP thread: on 2 cores default threading made single statsmodels fits 8-17x slower.
    with threadpool_limits(1):
        for uid, name in sorted(champions.items()):
            y, X = _series_of(panel, uid, study.freq, exog)
            estimators[uid] = _fit_champion(name, uid, study, result, y, X)

    known_fx = usdjpy_monthly(snapshot)
    request = pd.concat(
        [
            pd.DataFrame({"unique_id": uid, "ds": pd.date_range(est.cutoff_, periods=study.projection_horizon + 1, freq=study.freq)[1:]})
            for uid, est in estimators.items()
        ],
        ignore_index=True,
    )
    projections = project(estimators, request, known_fx, extra_columns=True)
    projections.insert(2, "model", projections["unique_id"].map(champions))
    projections["last_observed"] = projections["unique_id"].map({u: period_label(e.cutoff_, study.freq) for u, e in estimators.items()})
    projections["source_vintage"] = projections["unique_id"].map(data.source_vintage)
    projections["data_vintage"] = snapshot.vintage
    plan = reconciliation_plan(study, result, champions)
    projections = reconcile_projections(projections, plan)
    reconciliation = backtest_comparison(study, result, champions)

    meta = {
        "study": study.name,
        "frequency": study.frequency,
        "freq": study.freq,
        **lineage,
        "metric": bt.metric,
        "recipe": recipe,
        **({"reconciliation": plan} if plan is not None else {}),
        "scenarios": {name: s.summary() for name, s in load_scenarios(config.scenarios_dir).items()},
        "targets": {
            uid: {
                "model": champions[uid],
                "last_observed": f"{est.cutoff_:%Y-%m-%d}",
                "first_forecast": f"{pd.date_range(est.cutoff_, periods=2, freq=study.freq)[1]:%Y-%m-%d}",
                "source_vintage": data.source_vintage[uid],
            }
            for uid, est in estimators.items()
        },
    }
    scores = board[board["rank"] == 1].set_index("unique_id")[bt.metric]
    version_tags = {
        **lineage,
        RECIPE_TAG: json.dumps(recipe, sort_keys=True),
        f"backtest_{bt.metric}_mean": f"{scores.mean():.6g}",
        **{f"backtest_{bt.metric}.{uid}": f"{v:.6g}" for uid, v in scores.items()},
    }

    experiment_id = ensure_experiment(client, study.name, uri, config.mlruns_dir)
    # Registered, then the files: if a file cannot be written (disk full, read-only), none is
    # replaced and the registry is put back as it was (experiments/model_registry.py).
    with registry.unchanged_on_failure(client, study.registered_model), StagedFiles() as staged:
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"refresh-{time.strftime('%Y%m%dT%H%M%S')}") as parent:
            mlflow.set_tags({**lineage, "kind": "refresh"})
            mlflow.log_params({
                "frequency": study.frequency, "targets": ",".join(study.targets), "models": ",".join(study.models),
                "horizon": bt.horizon, "n_origins": bt.n_origins, "step": bt.step, "refit_every": bt.refit_every,
                "metric": bt.metric, "ensemble_k": study.ensemble.k, "ensemble_method": study.ensemble.method,
                "exog_mode": bt.exog_mode, "publication_lag_days": bt.publication_lag_days,
                "compare_exog_modes": ",".join(bt.compare_exog_modes), "n_jobs": config.n_jobs, "gate_margin": study.gate.margin,
                "executor": executor_label(config),
                "gate_alpha": study.gate.alpha, "warm_start": bt.warm_start, "origins_per_task": bt.origins_per_task,
                "reconcile": "off" if plan is None else plan["method"],
            })
            dataset = mlflow.data.from_pandas(panel, name=f"{study.name}-panel", targets="y")
            mlflow.log_input(dataset, context="training", tags={"data_vintage": snapshot.vintage})
            # the leaderboard's figures (on the folds the comparable models share): what the report
            # and the gate compare, so MLflow's runs show the same numbers
            log_child_runs(client, experiment_id, parent.info.run_id, result.forecasts, board,
                           result.metrics_by_horizon(), study.model_params, champions)
            mlflow.log_text(board.to_csv(index=False), "leaderboard.csv")
            mlflow.log_text(exog_board.to_csv(index=False), "leaderboard_exog_modes.csv")
            mlflow.log_text(result.skipped.to_csv(index=False), "skipped.csv")
            mlflow.log_text(projections.to_csv(index=False), "projections.csv")
            if reconciliation is not None:
                mlflow.log_text(reconciliation.to_csv(index=False), "reconciliation_backtest.csv")
            mlflow.set_tags(decision.tags())
            info = log_forecast_model(estimators, meta, known_fx)
            registration = register_candidate(client, study.registered_model, info.model_uri, parent.info.run_id,
                                              info.model_id, version_tags, decision, previous)
            mlflow.set_tag("registered_model_version", str(registration.version.version))

        # The projections file always holds the champion's view; a challenger's goes beside it.
        suffix = "" if decision.promote else ".challenger"
        out_path = config.output_dir / f"{study.name}{suffix}.csv"
        stage_csv(staged, out_path, projections)
        outcome = StudyOutcome(
            study=study.name, registered_model=study.registered_model, seconds=time.perf_counter() - started,
            leaderboard=board, projections=projections, skipped=result.skipped, champions=champions,
            metric=bt.metric, version=str(registration.version.version), decision=decision,
            parent_run_id=parent.info.run_id, projections_path=out_path,
            exog_board=exog_board, publication_lag_days=bt.publication_lag_days, reconciliation=reconciliation,
        )
        # rendered from the logged inputs, so `deficit report --run-id` writes this same report again
        report_inputs = log_report_inputs(
            client, parent.info.run_id, study_report(outcome, panel, result, settings, snapshot.vintage, credit))
        html = render_study_report(report_inputs, config.report_lang)
        outcome.report_path = config.output_dir / f"{study.name}{suffix}-report.html"
        client.log_text(parent.info.run_id, html, "report.html")
        staged.write_text(outcome.report_path, html)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _study_inputs(config: RefreshConfig, snapshot: Snapshot) -> tuple[dict, dict, dict]:
    """Every study's panel and figures, built up front: unknown series and bad data fail here,
    before any write."""
    catalog = load_catalog(config.series_catalog)
    study_data = {study.name: _study_data(snapshot, catalog, study) for study in config.studies}
    annual_data = prepare_annual_studies(config, snapshot, catalog)  # annual studies: same rule
    mixed_data = {s.name: prepare_mixed(snapshot, catalog, s) for s in config.mixed_frequency_studies}
    return study_data, annual_data, mixed_data


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
) -> list[StudyOutcome]:
    """Run every study of the config. ``notice`` receives lines the caller must show with the
    results (the BOJ credit line when the figures came from the BOJ API). ``scheduler_address`` /
    ``dask_local`` override the config's executor (see experiments/refresh_executor.py). ``wait``:
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
    study_data, annual_data, mixed_data = _study_inputs(config, snapshot)

    uri = resolve_tracking_uri(config.tracking_uri, config.mlruns_dir)
    config.mlruns_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(config.mlruns_dir / "refresh.lock"))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise RefreshBusy(f"another refresh is running (lock {lock.lock_file}); try again when it ends, "
                          "or pass --wait") from None
    try:
        _http_retry_policy(config)
        client = use_tracking(uri)
        client.search_experiments(max_results=1)  # an unreachable server fails here, before any work
        with backtest_executor(config) as executor:
            outcomes = [
                run_study(study, config, config_hash, snapshot, study_data[study.name], client, uri, progress,
                          force_promote, data_tags=refresh_data.tags(),
                          credit=BOJ_CREDIT if refresh_data.from_boj_api else None, executor=executor)
                for study in config.studies
            ]
            # The annual backtests stay in this process whatever the executor (see run_annual_study).
            annual = run_annual_studies(config, config_hash, snapshot, annual_data, client, uri, progress,
                                        force_promote, data_tags=refresh_data.tags())
            # The mixed-frequency studies score the annual study's one-year-ahead forecasts beside theirs.
            comparator = next((a for a in annual if a.forecasts is not None), None)
            comparison = (comparator.forecasts, comparator.champions) if comparator is not None else (None, {})
            mixed = [
                run_mixed_study(study, config, config_hash, snapshot, mixed_data[study.name], client, uri,
                                force_promote, data_tags=refresh_data.tags(), annual=comparison,
                                credit=BOJ_CREDIT if refresh_data.from_boj_api else None, executor=executor)
                for study in config.mixed_frequency_studies
            ]
        return outcomes + annual + mixed
    finally:
        lock.release()
