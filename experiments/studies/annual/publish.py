"""Publishing an annual study: the MLflow run (tables, fan charts, the check note, the pyfunc
model), the registered version promoted to champion, then the files beside the projections."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import joblib
import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema

import experiments.runtime  # noqa: F401  (environment defaults before mlflow import)
from experiments.reports.annual_html import render_annual_report
from experiments.reports.fan_charts import scenario_comparison_chart, scenario_fan_grid
from experiments.scenarios import BASELINE
from experiments.studies.annual.backtest import PRIMARY_MODE
from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.annual.data import AnnualData
from experiments.studies.annual.outcome import AnnualOutcome
from experiments.studies.annual.projection import ANNUAL_FREQ, ANNUAL_OUTPUT_COLUMNS
from experiments.studies.monthly.publish import PARAMS_SCHEMA, PIP_REQUIREMENTS
from experiments.tracking.publishing import publishing, register_champion
from features.ai_adoption import adoption_index
from features.csv_export import stage_csv

PYFUNC_ANNUAL = Path(__file__).with_name("pyfunc.py")

ANNUAL_INPUT_SCHEMA = Schema([ColSpec("string", "unique_id", required=False), ColSpec("datetime", "ds")])
ANNUAL_OUTPUT_SCHEMA = Schema(
    [
        ColSpec("string", "scenario"),
        ColSpec("string", "unique_id"),
        ColSpec("datetime", "ds"),
        *(ColSpec("double", c) for c in ANNUAL_OUTPUT_COLUMNS[3:]),
    ]
)


@dataclass(frozen=True)
class Published:
    version: str
    run_id: str
    projections_path: Path
    charts: list[Path]
    report_path: Path | None = None


def publish_annual(
    study: AnnualStudyConfig,
    config,
    client,
    uri: str,
    lineage: dict[str, str],
    data: AnnualData,
    outcome: AnnualOutcome,
    estimators: dict,
    stored: dict,
    meta: dict,
) -> Published:
    """Log ``outcome``'s tables, charts and model in one run, register the version as champion, then
    write the projection files."""
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Registered, then the files, all or nothing (experiments/tracking/publishing.py).
    with (
        publishing(client, uri, config, study, lineage, "annual_refresh") as run,
        tempfile.TemporaryDirectory() as tmp_name,
    ):
        _log_params(study, data, meta)
        tmp = Path(tmp_name)
        charts = _charts(study, data, outcome.projections, tmp)
        for chart in charts:
            mlflow.log_artifact(str(chart), "fan_charts")
        _log_tables(study, data, outcome, tmp)
        info = _log_model(estimators, stored, meta, tmp)
        version = _register(client, study, info, run.run_id, lineage, outcome, meta)
        report = render_annual_report(study, outcome, charts, version, run.run_id, lineage["data_vintage"])
        mlflow.log_text(report, "report.html")
        saved_charts, out_path = _stage_files(study, outcome, charts, report, out_dir, run.staged)
    return Published(version, run.run_id, out_path, saved_charts, out_dir / f"{study.name}-report.html")


def _log_params(study: AnnualStudyConfig, data: AnnualData, meta: dict) -> None:
    bt = study.backtest
    mlflow.log_params(
        {
            "frequency": "annual",
            "targets": ",".join(study.targets),
            "supporting_targets": ",".join(study.supporting_targets),
            "models": ",".join(m.name for m in study.models),
            "horizon": bt.horizon,
            "supporting_horizon": bt.supporting_horizon,
            "metric": bt.metric,
            "exog_mode": PRIMARY_MODE,
            "compare_exog_modes": ",".join(bt.compare_exog_modes),
            "publication_lag_days": bt.publication_lag_days,
            "fallback_model": study.selection.fallback,
            "min_origins": study.selection.min_origins,
            "projection_end": study.projection_end,
            "scenarios": ",".join(sorted(data.scenarios)),
            "reconcile": "off" if meta["reconciliation"] is None else meta["reconciliation"]["method_used"],
        }
    )


def _log_tables(study: AnnualStudyConfig, data: AnnualData, outcome: AnnualOutcome, tmp: Path) -> None:
    assert outcome.deltas is not None  # set by the study run
    tables = {
        "leaderboard.csv": outcome.leaderboard,
        "leaderboard_exog_modes.csv": outcome.exog_board,
        "evidence.csv": outcome.evidence,
        "selection.csv": outcome.selection,
        "skipped.csv": outcome.skipped,
        "projections.csv": outcome.projections,
        "provenance.csv": data.provenance,
        "adoption_index.csv": _adoption_table(data, study),
        f"backtest_check_{study.check_year}.csv": outcome.check,
        "scenario_deltas.csv": outcome.deltas.reset_index(),
        "projections_sensitivity.csv": outcome.sensitivity,
        f"levers_{study.projection_end}.csv": outcome.levers,
    }
    for name, frame in tables.items():
        (tmp / name).write_text(frame.to_csv(index=False), encoding="utf-8")
        mlflow.log_artifact(str(tmp / name), "tables")
    mlflow.log_text(outcome.note, f"backtest_check_{study.check_year}.md")


def _register(client, study: AnnualStudyConfig, info, run_id: str, lineage: dict, outcome, meta: dict) -> str:
    """A new version, made champion: a handful of scored origins cannot support a gate's test."""
    assert outcome.evidence is not None  # set by the study run
    reason = (
        f"annual study: at most {int(outcome.evidence['scored_origins'].max())} scored origins per series, too few "
        f"for a champion/challenger test; the refreshed model replaces the champion"
    )
    return register_champion(
        client,
        study.registered_model,
        info,
        run_id,
        {**lineage, "selection": json.dumps(meta["targets"], sort_keys=True)},
        "annual projection study (scenarios as pyfunc param 'scenario')",
        reason,
    )


def _stage_files(
    study: AnnualStudyConfig, outcome: AnnualOutcome, charts: list[Path], report: str, out_dir: Path, staged
) -> tuple[list[Path], Path]:
    """The projections, sensitivity, check note, levers, exogenous-mode board, report and charts
    (next to the projections file, with the CSVs); written together when the run succeeds."""
    assert outcome.sensitivity is not None  # set by the study run
    saved_charts = [out_dir / chart.name for chart in charts]
    for chart, target in zip(charts, saved_charts):
        staged.write_bytes(target, chart.read_bytes())
    out_path = out_dir / f"{study.name}.csv"
    stage_csv(staged, out_path, outcome.projections)
    if len(outcome.sensitivity):
        stage_csv(staged, out_dir / f"{study.name}-sensitivity.csv", outcome.sensitivity)
    staged.write_text(out_dir / f"{study.name}-backtest-{study.check_year}.md", outcome.note)
    stage_csv(staged, out_dir / f"{study.name}-levers-{study.projection_end}.csv", outcome.levers)
    stage_csv(staged, out_dir / f"{study.name}-leaderboard-exog-modes.csv", outcome.exog_board)
    staged.write_text(out_dir / f"{study.name}-report.html", report)
    return saved_charts, out_path


def _adoption_table(data: AnnualData, study: AnnualStudyConfig) -> pd.DataFrame:
    years = pd.date_range("2022-01-01", f"{study.projection_end}-01-01", freq=ANNUAL_FREQ)
    out = pd.DataFrame({"ds": years})
    for name in data.adoption_config.quantiles:
        out[name] = adoption_index(data.adoption, years, ANNUAL_FREQ, name).values.to_numpy()
    out["known_at"] = f"{data.adoption.known_at:%Y-%m-%d}"
    return out


def _charts(study: AnnualStudyConfig, data: AnnualData, projections: pd.DataFrame, tmp: Path) -> list[Path]:
    targets = study.fan_chart_targets or study.targets
    history = {uid: data.panel.loc[data.panel["unique_id"] == uid].set_index("ds")["y"] for uid in targets}
    labels = {uid: data.catalog.label(uid) for uid in targets}
    names = [BASELINE] + sorted(n for n in data.scenarios if n != BASELINE)
    first = targets[0]
    return [
        scenario_fan_grid(
            history,
            projections,
            names,
            labels,
            tmp / f"{study.name}-fan-charts.png",
            f"{study.name}: projections by scenario (80% and 95% intervals, conditional on the scenario)",
        ),
        scenario_comparison_chart(
            history[first],
            projections,
            first,
            tmp / f"{study.name}-scenarios-{first}.png",
            f"{labels[first]}: every scenario against the baseline fan",
        ),
    ]


def _log_model(estimators: dict, stored: dict, meta: dict, tmp: Path):
    joblib.dump(estimators, tmp / "estimators.joblib")
    (tmp / "scenarios.json").write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")
    # The weights resolved at refresh time, so served forecasts are reconciled as published.
    (tmp / "reconciliation.json").write_text(json.dumps(meta.get("reconciliation")), encoding="utf-8")
    example = pd.DataFrame(
        {
            "unique_id": list(estimators),
            "ds": [pd.Timestamp(meta["targets"][uid]["first_forecast"]) for uid in estimators],
        }
    )
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(PYFUNC_ANNUAL),
        artifacts={
            "estimators": str(tmp / "estimators.joblib"),
            "scenarios": str(tmp / "scenarios.json"),
            "reconciliation": str(tmp / "reconciliation.json"),
        },
        signature=ModelSignature(inputs=ANNUAL_INPUT_SCHEMA, outputs=ANNUAL_OUTPUT_SCHEMA, params=PARAMS_SCHEMA),
        input_example=example,
        pip_requirements=PIP_REQUIREMENTS,
        metadata=meta,
    )
