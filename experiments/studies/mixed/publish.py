"""Publishing a mixed-frequency study: one MLflow run (tables, chart, report, the pyfunc model),
the registered version promoted to champion, then the projection and report files."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema

import experiments.runtime  # noqa: F401  (environment defaults before mlflow import)
from experiments.reports.html import png_data, render_template
from experiments.reports.tornado import lever_context, with_fx_rows
from experiments.scenarios import BASELINE
from experiments.studies.mixed.charts import paths_chart_png
from experiments.studies.mixed.config import MixedStudyConfig
from experiments.studies.mixed.data import MixedData
from experiments.studies.mixed.evidence import validation_block
from experiments.studies.mixed.pyfunc import SERVED_COLUMNS
from experiments.studies.monthly.publish import PARAMS_SCHEMA, PIP_REQUIREMENTS
from experiments.tracking.publishing import publishing, register_champion
from features.csv_export import stage_csv

PYFUNC_MIXED = Path(__file__).with_name("pyfunc.py")
INPUT_SCHEMA = Schema([ColSpec("string", "unique_id", required=False), ColSpec("datetime", "ds")])
OUTPUT_SCHEMA = Schema(
    [
        ColSpec("string", "scenario"),
        ColSpec("string", "unique_id"),
        ColSpec("datetime", "ds"),
        ColSpec("string", "kind"),
        *(ColSpec("double", c) for c in SERVED_COLUMNS[4:]),
    ]
)


@dataclass(frozen=True)
class Published:
    version: str
    run_id: str
    projections_path: Path
    report_path: Path


def study_meta(study: MixedStudyConfig, data: MixedData, outcome, lineage: dict) -> dict:
    first_forecast = outcome.last_figure + pd.DateOffset(months=1)
    return {
        "study": study.name,
        "frequency": "monthly",
        "freq": "MS",
        **lineage,
        "projection_end": study.projection_end,
        "calibration_factor": outcome.factor,
        "scenarios": {name: s.summary() for name, s in data.scenarios.items()},
        "targets": {
            uid: {
                "model": outcome.selected[uid],
                "estimate_model": outcome.estimators[uid],
                "last_observed": f"{outcome.last_figure:%Y-%m-%d}",
                "first_forecast": f"{first_forecast:%Y-%m-%d}",
                "last_published_month": _last_month(data.windows[uid]),
            }
            for uid in study.targets
        },
    }


def _last_month(windows: pd.DataFrame) -> str | None:
    months = windows.loc[windows["months"] == 1, "start"]
    return None if months.empty else f"{months.max():%Y-%m-%d}"


def publish_mixed(
    study: MixedStudyConfig, config, client, uri: str, lineage: dict, data: MixedData, outcome, credit: str | None
) -> Published:
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = study_meta(study, data, outcome, lineage)
    levers = lever_table(study, outcome)
    # Registered, then the files, all or nothing (experiments/tracking/publishing.py).
    with publishing(client, uri, config, study, lineage, "mixed_frequency_refresh") as run:
        _log_params(study, outcome)
        _log_metrics(outcome)
        chart = paths_chart_png(
            outcome.paths,
            _totals(data, study),
            {u: data.catalog.label(u).replace(", calendar year", "") for u in study.targets},
        )
        info = _log_tables_and_model(study, data, outcome, levers, meta, chart)
        version = _register(client, study, info, run.run_id, lineage, outcome)
        report = render_mixed_report(
            study,
            data,
            outcome,
            chart,
            version,
            run.run_id,
            lineage.get("data_vintage", ""),
            credit,
            lineage.get("data_vintage_id", ""),
            levers,
        )
        mlflow.log_text(report, "report.html")
        out_path = out_dir / f"{study.name}.csv"
        stage_csv(run.staged, out_path, outcome.paths, date_format="%Y-%m-%d")
        stage_csv(run.staged, out_dir / f"{study.name}-totals-check.csv", outcome.totals_check)
        stage_csv(run.staged, out_dir / f"{study.name}-levers-{study.end.year}.csv", levers)
        report_path = out_dir / f"{study.name}-report.html"
        run.staged.write_text(report_path, report)
    return Published(version, run.run_id, out_path, report_path)


def _log_params(study: MixedStudyConfig, outcome) -> None:
    mlflow.log_params(
        {
            "frequency": "monthly (mixed-frequency figures)",
            "targets": ",".join(study.targets),
            "approaches": ",".join(study.approaches),
            "indicators": ",".join(study.indicators),
            "origins": ",".join(map(str, study.evidence.origins)),
            "hidden_months": f"{study.evidence.hide_first}..{study.evidence.hide_last}",
            "projection_end": study.projection_end,
            "calibration_factor": round(outcome.factor, 6),
            **{f"forecast_model.{uid}": name for uid, name in outcome.selected.items()},
            **{f"estimate_model.{uid}": name for uid, name in outcome.estimators.items()},
            **{f"estimate_factor.{uid}": round(f, 6) for uid, f in outcome.estimate_factors.items()},
        }
    )


def _log_tables_and_model(study: MixedStudyConfig, data: MixedData, outcome, levers, meta: dict, chart: bytes):
    """The study's tables and chart as run artifacts, and the pyfunc that serves the paths."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tables = {
            "paths.csv": outcome.paths,
            "totals_check.csv": outcome.totals_check,
            "disaggregation.csv": outcome.disaggregation,
            "origins.csv": outcome.origins,
            "origin_scores.csv": outcome.scores,
            "coverage.csv": outcome.coverage,
            "figures.csv": pd.concat([w.assign(unique_id=u) for u, w in data.windows.items()]),
            f"levers_{study.end.year}.csv": levers,
        }
        for name, frame in tables.items():
            (tmp / name).write_text(frame.to_csv(index=False), encoding="utf-8")
            mlflow.log_artifact(str(tmp / name), "tables")
        (tmp / "paths-chart.png").write_bytes(chart)
        mlflow.log_artifact(str(tmp / "paths-chart.png"))
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_MIXED),
            artifacts={"paths": str(tmp / "paths.csv")},
            signature=ModelSignature(inputs=INPUT_SCHEMA, outputs=OUTPUT_SCHEMA, params=PARAMS_SCHEMA),
            input_example=pd.DataFrame(
                {
                    "unique_id": study.targets,
                    "ds": [pd.Timestamp(meta["targets"][u]["first_forecast"]) for u in study.targets],
                }
            ),
            pip_requirements=PIP_REQUIREMENTS,
            metadata=meta,
        )


def _register(client, study: MixedStudyConfig, info, run_id: str, lineage: dict, outcome) -> str:
    """A new version, made champion: the refreshed paths replace the served ones (no gate: the
    selection is made on leakage-free origins, and the paths must start from the newest figures)."""
    return register_champion(
        client,
        study.registered_model,
        info,
        run_id,
        {
            **lineage,
            "selection": json.dumps({"forecast": outcome.selected, "estimate": outcome.estimators}, sort_keys=True),
        },
        "mixed-frequency monthly study (scenarios as pyfunc param 'scenario')",
        "mixed-frequency study: selected on leakage-free origins; the refreshed paths replace the champion",
    )


def _log_metrics(outcome) -> None:
    metrics = {}
    for _, r in outcome.disaggregation.iterrows():
        metrics[f"disaggregation_mase.{r['unique_id']}.{r['method']}"] = r["mase"]
    for _, r in outcome.scores.iterrows():
        metrics[f"origin_scaled_error.{r['unique_id']}.{r['method']}"] = r["mean_scaled_error"]
    cov = outcome.coverage
    if len(cov):
        metrics.update(
            {
                "coverage_80": cov["inside_80"].mean(),
                "coverage_95": cov["inside_95"].mean(),
                "coverage_80_calibrated": cov["inside_80_calibrated"].mean(),
                "coverage_95_calibrated": cov["inside_95_calibrated"].mean(),
            }
        )
    mlflow.log_metrics({k.replace(":", "_").replace("+", "_with_"): float(v) for k, v in metrics.items() if v == v})


def _totals(data: MixedData, study: MixedStudyConfig) -> dict[str, pd.DataFrame]:
    return {uid: data.windows[uid][data.windows[uid]["months"] > 1] for uid in study.targets}


def _fmt(v, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    if isinstance(v, (bool,)):
        return "yes" if v else "NO"
    return f"{v:,.{digits}f}"


def lever_table(study: MixedStudyConfig, outcome) -> pd.DataFrame:
    """The levers' effects on the balance in the last year, with the yen's (the scenarios' FX)."""
    paths = outcome.paths
    balance = study.identity.lhs if study.identity is not None else study.targets[0]
    year = paths[(paths["unique_id"] == balance) & (paths["ds"].dt.year == study.end.year)]
    totals = year.groupby("scenario")["yhat"].sum()
    deltas = {name: float(totals[name] - totals[BASELINE]) for name in ("yen_weak", "yen_strong") if name in totals}
    return with_fx_rows(outcome.levers, deltas, 15)


def render_mixed_report(
    study,
    data: MixedData,
    outcome,
    chart: bytes,
    version: str,
    run_id: str,
    data_vintage: str,
    credit: str | None,
    vintage_id: str = "",
    levers: pd.DataFrame | None = None,
) -> str:
    years = list(range(2022, study.end.year + 1))
    compare, origin_rows = _origin_rows(outcome)
    return render_template(
        "mixed_report.html.j2",
        study=study.name,
        registered_model=study.registered_model,
        version=version,
        run_id=run_id,
        data_vintage=data_vintage,
        vintage_id=vintage_id,
        last_figure=f"{outcome.last_figure:%Y-%m}",
        projection_end=study.projection_end,
        factor=f"{outcome.factor:.2f}",
        sources=_source_rows(data),
        chart=png_data(chart),
        years=years,
        annual=_annual_rows(study, outcome.paths, years),
        totals=_totals_rows(outcome),
        hide=f"{study.evidence.hide_first}..{study.evidence.hide_last}",
        disaggregation=_disaggregation_rows(outcome),
        validation="{:%Y-%m}..{:%Y-%m}".format(*validation_block(study)),
        scores=_score_rows(outcome),
        compare_methods=compare,
        origin_rows=origin_rows,
        coverage=_coverage_summary(outcome.coverage),
        credit=credit,
        **lever_context(levers, study.end.year),
    )


def _annual_rows(study, paths: pd.DataFrame, years: list[int]) -> list[dict]:
    annual = paths.assign(year=paths["ds"].dt.year).groupby(["scenario", "unique_id", "year"])["yhat"].sum()
    return [
        {"scenario": s, "unique_id": u, "values": [_fmt(annual.get((s, u, y))) for y in years]}
        for s in [BASELINE] + sorted(set(paths["scenario"]) - {BASELINE})
        for u in study.targets
    ]


def _source_rows(data: MixedData) -> list[dict]:
    sources = []
    for uid, w in data.windows.items():
        w = w.sort_values(["kind", "start"])
        # consecutive runs of the same kind, source and vintage (months of two vintages told apart)
        run = (w[["kind", "source_id", "vintage"]] != w[["kind", "source_id", "vintage"]].shift()).any(axis=1).cumsum()
        for _, part in w.groupby(run, sort=False):
            labels, kind = part["label"].tolist(), part["kind"].iloc[0]
            text = f"{labels[0]}..{labels[-1]} ({len(labels)})" if kind == "M" else ", ".join(labels)
            sources.append(
                {
                    "unique_id": uid,
                    "kind": kind,
                    "source_id": part["source_id"].iloc[0],
                    "vintage": part["vintage"].iloc[0],
                    "labels": text,
                }
            )
    return sources


def _totals_rows(outcome) -> list[dict]:
    return [
        {
            **r,
            "value": _fmt(r["value"]),
            "sum_of_months": _fmt(r["sum_of_months"], 1),
            "difference": _fmt(r["difference"], 2),
            "rounding_half_step": _fmt(r["rounding_half_step"], 1),
            "within_rounding": _fmt(bool(r["within_rounding"])),
        }
        for r in outcome.totals_check.to_dict("records")
    ]


def _disaggregation_rows(outcome) -> list[dict]:
    return [
        {
            **r,
            "mase": _fmt(r["mase"], 3),
            "mae": _fmt(r["mae"]),
            "coverage_80": _fmt(r["coverage_80"], 2),
            "validation_mase": _fmt(r.get("validation_mase"), 3),
            "selected": outcome.estimators.get(r["unique_id"]) == r["method"],
        }
        for r in outcome.disaggregation.to_dict("records")
    ]


def _score_rows(outcome) -> list[dict]:
    return [
        {
            **r,
            "mean_scaled_error": _fmt(r["mean_scaled_error"], 3),
            "mean_abs_error": _fmt(r["mean_abs_error"]),
            "coverage_80": _fmt(r["coverage_80"], 2),
            "coverage_95": _fmt(r["coverage_95"], 2),
            "selected": outcome.selected.get(r["unique_id"]) == r["method"],
        }
        for r in outcome.scores.to_dict("records")
    ]


def _origin_rows(outcome) -> tuple[list[str], list[dict]]:
    """The compared methods, and per origin and total the forecast of each next to the figure."""
    origins = outcome.origins
    compare = [
        "selected",
        "naive",
        "drift",
        *sorted(m for m in origins["method"].unique() if m.startswith("annual_study")),
    ]
    rows = []
    for (year, uid, label), part in origins.groupby(["origin", "unique_id", "label"], sort=True):
        by = dict(zip(part["method"], part["mean"]))
        by["selected"] = by.get(outcome.selected.get(uid))
        rows.append(
            {
                "origin": int(year),
                "unique_id": uid,
                "label": label,
                "y": _fmt(part["y"].iloc[0]),
                "values": [_fmt(by.get(m)) for m in compare],
            }
        )
    return compare, rows


def _coverage_summary(cov: pd.DataFrame) -> dict:
    columns = (
        ("raw80", "inside_80"),
        ("raw95", "inside_95"),
        ("cal80", "inside_80_calibrated"),
        ("cal95", "inside_95_calibrated"),
    )
    return {"n": len(cov), **({k: _fmt(cov[c].mean(), 2) for k, c in columns} if len(cov) else {})}
