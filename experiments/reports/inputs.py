"""Everything a study report shows, kept with its MLflow run so the report can be written again.

A refresh logs these frames and a small JSON under the run's ``report_inputs/`` artifacts and
renders its HTML from them *after* a round trip through that text, so ``deficit report --run-id``
(experiments/cli/report.py) rebuilds exactly the report the refresh wrote, in any language, from
the tracking store alone.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from features.errors import DataValidationError
from forecast.comparison import dm_matrix
from forecast.diagnostics import residual_diagnostics

ARTIFACT_DIR = "report_inputs"
INPUTS_TAG = "report_inputs"  # tag on runs that carry them, so --latest finds them quickly
INPUTS_VERSION = "1"
HISTORY_PERIODS = 60  # months of history drawn before each projection
DATE_COLUMNS = {"projections": ["ds"], "history": ["ds"]}


@dataclass
class StudyReport:
    """The report's inputs: ``meta`` (JSON: names, settings, champions) and its frames."""

    meta: dict
    leaderboard: pd.DataFrame
    projections: pd.DataFrame
    skipped: pd.DataFrame
    by_h: pd.DataFrame
    history: pd.DataFrame
    dm: pd.DataFrame
    residuals: pd.DataFrame
    acf: pd.DataFrame
    reconciliation: pd.DataFrame | None = None

    @staticmethod
    def frame_names() -> list[str]:
        return [f.name for f in fields(StudyReport) if f.name != "meta"]

    def texts(self) -> dict[str, str]:
        """File name -> text, as logged under ``report_inputs/``."""
        out = {"meta.json": json.dumps(self.meta, sort_keys=True, indent=1)}
        for name in self.frame_names():
            frame = getattr(self, name)
            if frame is not None:
                out[f"{name}.csv"] = frame.to_csv(index=False, date_format="%Y-%m-%d")
        return out

    @classmethod
    def from_texts(cls, texts: dict[str, str]) -> StudyReport:
        meta = json.loads(texts["meta.json"])
        frames = {}
        for name in cls.frame_names():
            text = texts.get(f"{name}.csv")
            frames[name] = None if text is None else _read_csv(text, DATE_COLUMNS.get(name, []))
        return cls(meta=meta, **frames)


def _read_csv(text: str, dates: list[str]) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(text), keep_default_na=True)
    for column in dates:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    return frame


def study_report(
    outcome,
    panel: pd.DataFrame,
    result,
    settings,
    data_vintage: str,
    credit: str | None,
    by_h: pd.DataFrame | None = None,
) -> StudyReport:
    """The inputs of one refreshed study's report (``outcome``: a refresh StudyOutcome,
    ``result``: its BacktestResult; ``by_h``: its ``metrics_by_horizon()`` when already scored)."""
    targets = sorted(outcome.projections["unique_id"].unique())
    history = (
        panel[panel["unique_id"].isin(targets)][["unique_id", "ds", "y"]]
        .groupby("unique_id", sort=True)
        .tail(HISTORY_PERIODS)
        .reset_index(drop=True)
    )
    residuals, acf = residual_diagnostics(result.forecasts, outcome.champions)
    meta = {
        "inputs_version": INPUTS_VERSION,
        "study": outcome.study,
        "registered_model": outcome.registered_model,
        "version": outcome.version,
        "alias": outcome.decision.alias,
        "gate_reason": outcome.decision.reason,
        "data_vintage": data_vintage,
        "run_id": outcome.parent_run_id,
        "horizon": settings.horizon,
        "n_origins": settings.n_origins,
        "step": settings.step,
        "metric": outcome.metric,
        "champions": dict(sorted(outcome.champions.items())),
        "credit": credit,
        "dm_lags": max(math.ceil(settings.horizon / max(settings.step, 1)) - 1, 0),
    }
    return StudyReport(
        meta=meta,
        leaderboard=outcome.leaderboard,
        projections=outcome.projections,
        skipped=outcome.skipped,
        by_h=result.metrics_by_horizon() if by_h is None else by_h,
        history=history,
        dm=dm_matrix(result.forecasts, outcome.metric, settings.horizon, settings.step),
        residuals=residuals,
        acf=acf,
        reconciliation=outcome.reconciliation,
    )


def log_report_inputs(client, run_id: str, report: StudyReport) -> StudyReport:
    """Log ``report`` under the run's ``report_inputs/`` and return it as read back from that text."""
    texts = report.texts()
    for name, text in texts.items():
        client.log_text(run_id, text, f"{ARTIFACT_DIR}/{name}")
    client.set_tag(run_id, INPUTS_TAG, INPUTS_VERSION)
    return StudyReport.from_texts(texts)


def load_report_inputs(client, run_id: str) -> StudyReport:
    """The inputs a refresh logged with run ``run_id``; a run without them is one error line."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise DataValidationError(f"no MLflow run {run_id!r} in this store") from None
    if run.data.tags.get(INPUTS_TAG) != INPUTS_VERSION:
        raise DataValidationError(
            f"run {run_id} has no report inputs (a monthly study's refresh logs them; annual and "
            "mixed-frequency runs keep their report.html artifact)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=ARTIFACT_DIR, dst_path=tmp))
        texts = {path.name: path.read_text(encoding="utf-8") for path in local.iterdir()}
    return StudyReport.from_texts(texts)


def latest_report_run(client, study: str | None = None) -> str:
    """The newest run that carries report inputs (of ``study``'s experiment, when given)."""
    if study is not None:
        experiment = client.get_experiment_by_name(study)
        if experiment is None:
            raise DataValidationError(f"no experiment named {study!r} in this store")
        experiment_ids = [experiment.experiment_id]
    else:
        experiment_ids = [e.experiment_id for e in client.search_experiments()]
    runs = (
        client.search_runs(
            experiment_ids,
            filter_string=f"tags.{INPUTS_TAG} = '{INPUTS_VERSION}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if experiment_ids
        else []
    )
    if not runs:
        where = f"study {study!r}" if study else "this store"
        raise DataValidationError(f"no refresh run with report inputs in {where}; run `deficit refresh` first")
    return runs[0].info.run_id
