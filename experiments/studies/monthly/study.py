"""The monthly study's refresh: backtest -> select -> gate -> fit -> project -> reconcile ->
describe -> publish, each step a function of one :class:`MonthlyRun` (experiments/studies/steps.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from threadpoolctl import threadpool_limits

from experiments.config import StudyConfig
from experiments.executors import executor_label
from experiments.exog_settings import study_exog_options
from experiments.reports.html import render_study_report
from experiments.reports.inputs import log_report_inputs, study_report
from experiments.scenarios import load_scenarios
from experiments.studies.kinds import StudyCall, StudyKind
from experiments.studies.monthly.projection import period_label, project
from experiments.studies.monthly.publish import log_forecast_model
from experiments.studies.monthly.reconcile import backtest_comparison, reconcile_projections, reconciliation_plan
from experiments.studies.steps import StudyRun, run_study
from experiments.tracking import registry
from experiments.tracking.gate import GateDecision
from experiments.tracking.promotion import RECIPE_TAG, gate_candidate, register_candidate, study_recipe
from experiments.tracking.publishing import publishing
from experiments.tracking.runs import log_child_runs
from features.atomic import StagedFiles
from features.csv_export import stage_csv
from features.errors import DeficitError
from features.exog import attach_exog, usdjpy_monthly
from features.series import build_panel
from features.snapshot import Snapshot
from forecast.backtest.engine import BacktestResult, BacktestSettings, cross_validate
from forecast.backtest.ensemble import add_selected_ensemble, select_members
from forecast.backtest.executors import Executor
from forecast.backtest.exog_report import exog_mode_board
from forecast.backtest.leaderboard import best_models, leaderboard
from forecast.models.base import BaseForecaster
from forecast.models.ensemble import EnsembleForecaster
from forecast.models.registry import is_combination_model, make_model

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
    exog_board: pd.DataFrame | None = None  # forecast vs oracle drivers (experiments/reports/exog.py)
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


def study_data(snapshot: Snapshot, catalog, study: StudyConfig) -> StudyData:
    panel = build_panel(snapshot, catalog, study.targets, freq=study.freq)
    if study.exog:
        panel = attach_exog(panel, snapshot, freq=study.freq)
    return StudyData(panel, {uid: catalog.source_vintage(snapshot, uid) for uid in study.targets})


@dataclass
class MonthlyRun(StudyRun[StudyConfig]):
    """The monthly study's context: its inputs, then what each step adds (set in step order)."""

    data: StudyData = field(kw_only=True)
    executor: Executor = field(kw_only=True)
    progress: Progress | None = field(default=None, kw_only=True)
    exog: list[str] = field(init=False)
    settings: BacktestSettings = field(init=False)
    result: BacktestResult = field(init=False)
    board: pd.DataFrame = field(init=False)
    by_horizon: pd.DataFrame = field(init=False)  # accuracy per step h: MLflow's child runs and the report
    exog_board: pd.DataFrame = field(init=False)
    champions: dict[str, str] = field(init=False)
    recipe: dict[str, dict] = field(init=False)
    decision: GateDecision = field(init=False)
    previous: ModelVersion | None = field(init=False)
    estimators: dict[str, BaseForecaster] = field(init=False)
    known_fx: pd.Series = field(init=False)
    projections: pd.DataFrame = field(init=False)
    plan: dict | None = field(init=False)
    reconciliation: pd.DataFrame | None = field(init=False)
    meta: dict[str, Any] = field(init=False)
    version_tags: dict[str, str] = field(init=False)
    outcome: StudyOutcome = field(init=False)


def backtest_setup(study: StudyConfig) -> tuple[BacktestSettings, list[str]]:
    """The study's backtest settings and its exogenous panel columns (also what benchmarks run)."""
    bt = study.backtest
    settings = BacktestSettings.from_options(
        bt.model_dump(), season_length=study.season_length, exog_options=study_exog_options(bt)
    )
    return settings, [EXOG_COLUMNS[e] for e in study.exog]


def _backtest(run: MonthlyRun) -> None:
    study, bt = run.study, run.study.backtest
    run.settings, run.exog = backtest_setup(study)
    # A combination (the ensemble) is chosen per origin from the other models' backtest errors.
    base_models = {
        name: make_model(name, study.season_length, study.model_params.get(name))
        for name in study.models
        if not is_combination_model(name)
    }
    progress = run.progress
    report = (lambda done, total: progress(study.name, done, total)) if progress else None
    run.result = cross_validate(
        run.data.panel, base_models, run.settings, exog_columns=run.exog, progress=report, executor=run.executor
    )
    for name in filter(is_combination_model, study.models):
        run.result = add_selected_ensemble(
            run.result, k=study.ensemble.k, method=study.ensemble.method, metric=bt.metric, name=name
        )


def _select(run: MonthlyRun) -> None:
    metric = run.study.backtest.metric
    run.board = leaderboard(run.result, metric=metric)
    run.exog_board = exog_mode_board(run.result)  # oracle rows are labelled upper bounds, never ranked
    run.champions = cast(dict[str, str], best_models(run.result, metric=metric))
    if not run.champions:
        reasons = "; ".join(sorted(set(run.result.skipped["reason"])))[:300] or "no backtest origin fits the data"
        raise DeficitError(f"study {run.study.name}: no model could be backtested on any target ({reasons})")
    run.recipe = study_recipe(run.study, run.champions)


def _gate(run: MonthlyRun) -> None:
    run.decision, run.previous = gate_candidate(
        run.client,
        run.study,
        run.result,
        run.champions,
        run.data.panel,
        run.settings,
        run.exog,
        run.executor,
        run.force_promote,
    )


def _fit(run: MonthlyRun) -> None:
    run.estimators = {}
    # One BLAS/OpenMP thread: on 2 cores default threading made single statsmodels fits 8-17x slower.
    with threadpool_limits(1):
        for uid, name in sorted(run.champions.items()):
            rows = run.data.panel[run.data.panel["unique_id"] == uid].set_index("ds").asfreq(run.study.freq)
            y, X = rows["y"], (rows[run.exog] if run.exog else None)
            estimator = _champion_estimator(run, name, uid)
            run.estimators[uid] = estimator.fit(y, X if estimator.uses_exog else None)


def _champion_estimator(run: MonthlyRun, name: str, uid: Hashable) -> BaseForecaster:
    study = run.study
    if is_combination_model(name):
        members = select_members(run.result, uid, k=study.ensemble.k, metric=study.backtest.metric)
        return EnsembleForecaster(
            estimators=[(m, make_model(m, study.season_length, study.model_params.get(m))) for m in members],
            method=study.ensemble.method,
        )
    return cast(BaseForecaster, make_model(name, study.season_length, study.model_params.get(name)))


def _project(run: MonthlyRun) -> None:
    study = run.study
    run.known_fx = usdjpy_monthly(run.snapshot)
    request = pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range(est.cutoff_, periods=study.projection_horizon + 1, freq=study.freq)[1:],
                }
            )
            for uid, est in run.estimators.items()
        ],
        ignore_index=True,
    )
    projections = project(run.estimators, request, run.known_fx, extra_columns=True)
    projections.insert(2, "model", projections["unique_id"].map(run.champions))
    projections["last_observed"] = projections["unique_id"].map(
        {u: period_label(e.cutoff_, study.freq) for u, e in run.estimators.items()}
    )
    projections["source_vintage"] = projections["unique_id"].map(run.data.source_vintage)
    projections["data_vintage"] = run.snapshot.vintage
    run.projections = projections


def _reconcile(run: MonthlyRun) -> None:
    run.plan = reconciliation_plan(run.study, run.result, run.champions)
    run.projections = reconcile_projections(run.projections, run.plan)
    run.reconciliation = backtest_comparison(run.study, run.result, run.champions)


def _describe(run: MonthlyRun) -> None:
    """The served model's metadata and the registered version's tags."""
    study, metric = run.study, run.study.backtest.metric
    run.meta = {
        "study": study.name,
        "frequency": study.frequency,
        "freq": study.freq,
        **run.lineage,
        "metric": metric,
        "recipe": run.recipe,
        **({"reconciliation": run.plan} if run.plan is not None else {}),
        "scenarios": {name: s.summary() for name, s in load_scenarios(run.config.scenarios_dir).items()},
        "targets": {
            uid: {
                "model": run.champions[uid],
                "last_observed": f"{est.cutoff_:%Y-%m-%d}",
                "first_forecast": f"{pd.date_range(est.cutoff_, periods=2, freq=study.freq)[1]:%Y-%m-%d}",
                "source_vintage": run.data.source_vintage[uid],
            }
            for uid, est in run.estimators.items()
        },
    }
    scores = run.board[run.board["rank"] == 1].set_index("unique_id")[metric]
    run.version_tags = {
        **run.lineage,
        RECIPE_TAG: json.dumps(run.recipe, sort_keys=True),
        f"backtest_{metric}_mean": f"{scores.mean():.6g}",
        **{f"backtest_{metric}.{uid}": f"{v:.6g}" for uid, v in scores.items()},
    }


def _publish(run: MonthlyRun) -> None:
    """One MLflow run with the backtest, the registered version, then the files. Registered first:
    if a file cannot be written (disk full, read-only), none is replaced and the registry is put
    back as it was (experiments/tracking/registry.py)."""
    with publishing(run.client, run.uri, run.config, run.study, run.lineage, "refresh") as parent:
        _log_backtest(run, parent.experiment_id, parent.run_id)
        version = _register(run, parent.run_id)
        _stage_files(run, parent.staged, parent.run_id, version)


def _log_backtest(run: MonthlyRun, experiment_id: str, run_id: str) -> None:
    study, bt, config = run.study, run.study.backtest, run.config
    mlflow.log_params(
        {
            "frequency": study.frequency,
            "targets": ",".join(study.targets),
            "models": ",".join(study.models),
            "horizon": bt.horizon,
            "n_origins": bt.n_origins,
            "step": bt.step,
            "refit_every": bt.refit_every,
            "metric": bt.metric,
            "ensemble_k": study.ensemble.k,
            "ensemble_method": study.ensemble.method,
            "exog_mode": bt.exog_mode,
            "publication_lag_days": bt.publication_lag_days,
            "compare_exog_modes": ",".join(bt.compare_exog_modes),
            "n_jobs": config.n_jobs,
            "gate_margin": study.gate.margin,
            "executor": executor_label(config),
            "gate_alpha": study.gate.alpha,
            "warm_start": bt.warm_start,
            "origins_per_task": bt.origins_per_task,
            "reconcile": "off" if run.plan is None else run.plan["method"],
        }
    )
    # mlflow.data is set as an attribute of the mlflow package when it is imported.
    dataset = mlflow.data.from_pandas(run.data.panel, name=f"{study.name}-panel", targets="y")  # type: ignore[attr-defined]
    mlflow.log_input(dataset, context="training", tags={"data_vintage": run.snapshot.vintage})
    # the leaderboard's figures (on the folds the comparable models share): what the report and
    # the gate compare, so MLflow's runs show the same numbers
    result = run.result
    run.by_horizon = result.metrics_by_horizon()  # ~1 s: scored once, for the child runs and the report
    log_child_runs(
        run.client,
        experiment_id,
        run_id,
        result.forecasts,
        run.board,
        run.by_horizon,
        study.model_params,
        run.champions,
    )
    mlflow.log_text(run.board.to_csv(index=False), "leaderboard.csv")
    mlflow.log_text(run.exog_board.to_csv(index=False), "leaderboard_exog_modes.csv")
    mlflow.log_text(result.skipped.to_csv(index=False), "skipped.csv")
    mlflow.log_text(run.projections.to_csv(index=False), "projections.csv")
    if run.reconciliation is not None:
        mlflow.log_text(run.reconciliation.to_csv(index=False), "reconciliation_backtest.csv")


def _register(run: MonthlyRun, run_id: str) -> str:
    mlflow.set_tags(run.decision.tags())
    info = log_forecast_model(run.estimators, run.meta, run.known_fx)
    registration = register_candidate(
        run.client,
        run.study.registered_model,
        info.model_uri,
        run_id,
        info.model_id,
        run.version_tags,
        run.decision,
        run.previous,
    )
    mlflow.set_tag("registered_model_version", str(registration.version.version))
    return str(registration.version.version)


def _stage_files(run: MonthlyRun, staged: StagedFiles, run_id: str, version: str) -> None:
    """The projections file always holds the champion's view; a challenger's goes beside it."""
    study, config = run.study, run.config
    suffix = "" if run.decision.promote else ".challenger"
    out_path = config.output_dir / f"{study.name}{suffix}.csv"
    stage_csv(staged, out_path, run.projections)
    run.outcome = outcome = StudyOutcome(
        study=study.name,
        registered_model=study.registered_model,
        seconds=run.elapsed(),
        leaderboard=run.board,
        projections=run.projections,
        skipped=run.result.skipped,
        champions=run.champions,
        metric=study.backtest.metric,
        version=version,
        decision=run.decision,
        parent_run_id=run_id,
        projections_path=out_path,
        exog_board=run.exog_board,
        publication_lag_days=study.backtest.publication_lag_days,
        reconciliation=run.reconciliation,
    )
    # rendered from the logged inputs, so `deficit report --run-id` writes this same report again
    report_inputs = log_report_inputs(
        run.client,
        run_id,
        study_report(
            outcome, run.data.panel, run.result, run.settings, run.snapshot.vintage, run.credit, run.by_horizon
        ),
    )
    html = render_study_report(report_inputs, config.report_lang)
    outcome.report_path = config.output_dir / f"{study.name}{suffix}-report.html"
    run.client.log_text(run_id, html, "report.html")
    staged.write_text(outcome.report_path, html)


STEPS = (_backtest, _select, _gate, _fit, _project, _reconcile, _describe, _publish)


def run_monthly_study(run: MonthlyRun) -> StudyOutcome:
    """Refresh one monthly study: nothing when this lineage is already registered, else its steps."""
    study, config = run.study, run.config

    def outputs(version) -> dict[str, Path]:
        champion = registry.alias_version(run.client, study.registered_model, "champion")
        suffix = "" if champion is not None and champion.version == version.version else ".challenger"
        return {
            "projections.csv": config.output_dir / f"{study.name}{suffix}.csv",
            "report.html": config.output_dir / f"{study.name}{suffix}-report.html",
        }

    return run_study(run, STEPS, outputs, StudyOutcome)


def _run_from_refresh(call: StudyCall) -> StudyOutcome:
    fingerprint = study_fingerprint(call.study, call.config.series_catalog)
    run = MonthlyRun(
        *call.context_args(fingerprint, call.credit), data=call.data, executor=call.executor, progress=call.progress
    )
    return run_monthly_study(run)


KIND = StudyKind(
    key="studies",
    config=StudyConfig,
    prepare=lambda study, config, snapshot, catalog: study_data(snapshot, catalog, study),
    run=_run_from_refresh,
)
