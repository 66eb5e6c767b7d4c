"""Worked example: a new study is one module (settings, context, steps, ``KIND``) plus this test.

Everything above the tests is the whole study: ``next_year_studies`` forecast each target's next
twelve months with one model and publish their total. It runs on the shared skeleton
(experiments/studies/steps.py: skipped when the same data and settings are registered, else its
steps in order) and publishes the shared way (experiments/tracking/publishing.py: one MLflow run,
a registered champion, then the files, all or nothing). To ship it, move that part to
``experiments/studies/next_year/study.py`` and add ``"experiments.studies.next_year.study:KIND"``
to ``BUILT_IN_KINDS`` (experiments/studies/kinds.py, one line); from your own code, call
``register_study_kind(KIND)`` as the fixture below does. Its studies then go in any config under
``next_year_studies``, validated with the rest of the config before anything is written.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.pyfunc import PythonModel, PythonModelContext
from pydantic import Field, field_validator

from experiments.names import NAME_PATTERN
from experiments.studies.kinds import StudyCall, StudyKind
from experiments.studies.steps import StudyRun, run_study
from experiments.tracking.publishing import publishing, register_champion
from features.csv_export import stage_csv
from features.series import build_panel
from features.yaml_settings import StrictSettings
from forecast.models.registry import available_models, make_model

HORIZON = 12


class NextYearStudy(StrictSettings):
    name: str = Field(pattern=NAME_PATTERN)
    registered_model: str = Field(pattern=NAME_PATTERN)
    targets: list[str] = Field(min_length=1)
    model: str = "seasonal_naive"

    @field_validator("model")
    @classmethod
    def _known_model(cls, name: str) -> str:
        if name not in available_models():
            raise ValueError(f"unknown model {name!r}")
        return name


@dataclass
class NextYearOutcome:
    study: str
    registered_model: str
    seconds: float
    unchanged_version: str | None = None
    totals: pd.DataFrame | None = None
    version: str | None = None

    def print_report(self, console) -> None:  # deficit refresh prints an unchanged study's line itself
        console.print(f"{self.study}: version {self.version}\n{self.totals}")


class ServedTotals(PythonModel):
    """``models:/<registered_model>@champion`` answers with the published totals of the ids asked."""

    def load_context(self, context: PythonModelContext) -> None:
        self.totals = pd.read_csv(context.artifacts["totals"])

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return self.totals[self.totals["unique_id"].isin(model_input["unique_id"])].reset_index(drop=True)


@dataclass
class NextYearRun(StudyRun[NextYearStudy]):
    data: pd.DataFrame = field(kw_only=True)  # the targets' monthly panel (unique_id, ds, y)
    totals: pd.DataFrame = field(init=False)
    outcome: NextYearOutcome = field(init=False)


def _forecast(run: NextYearRun) -> None:
    rows = []
    for uid, part in run.data.groupby("unique_id"):
        y = part.set_index("ds")["y"].asfreq("MS")
        forecast = make_model(run.study.model, 12).fit(y).predict(HORIZON)
        rows.append({"unique_id": uid, "first_month": forecast.index[0], "total": float(forecast["mean"].sum())})
    run.totals = pd.DataFrame(rows)


def _publish(run: NextYearRun) -> None:
    study, out = run.study, Path(run.config.output_dir) / f"{run.study.name}.csv"
    with publishing(run.client, run.uri, run.config, study, run.lineage, "next_year_totals") as published:
        with tempfile.TemporaryDirectory() as tmp:
            table = Path(tmp) / "totals.csv"
            run.totals.to_csv(table, index=False)
            mlflow.log_artifact(str(table))  # the file a lost output is restored from
            info = mlflow.pyfunc.log_model(
                name="model", python_model=ServedTotals(), artifacts={"totals": str(table)}, pip_requirements=[]
            )
        version = register_champion(
            run.client, study.registered_model, info, published.run_id, run.lineage, "next-year totals", "example"
        )
        stage_csv(published.staged, out, run.totals, date_format="%Y-%m-%d")
    run.outcome = NextYearOutcome(study.name, study.registered_model, 0.0, totals=run.totals, version=version)


STEPS = (_forecast, _publish)


def _run_from_refresh(call: StudyCall) -> NextYearOutcome:
    fingerprint = hashlib.sha256(call.study.model_dump_json().encode()).hexdigest()
    run = NextYearRun(*call.context_args(fingerprint), data=call.data)
    outputs = {"totals.csv": Path(call.config.output_dir) / f"{call.study.name}.csv"}
    return run_study(run, STEPS, outputs, NextYearOutcome)


KIND = StudyKind(
    key="next_year_studies",
    config=NextYearStudy,
    prepare=lambda study, config, snapshot, catalog: build_panel(snapshot, catalog, study.targets),
    run=_run_from_refresh,
)


# ---- its test --------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registered():
    from experiments.studies.kinds import register_study_kind, unregister_study_kind

    register_study_kind(KIND)
    yield KIND
    unregister_study_kind(KIND.key)


def _config(tmp_path: Path, study: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"mlruns_dir: {tmp_path / 'mlruns'}\nseries_catalog: {ROOT / 'configs' / 'series.yaml'}\n"
        f"output_dir: {tmp_path / 'out'}\nn_jobs: 1\nnext_year_studies:\n  - {study}\n",
        encoding="utf-8",
    )
    return path


def test_the_new_study_refreshes_registers_serves_and_is_idempotent(registered, tmp_path):
    from experiments.refresh import run_refresh

    config = _config(tmp_path, "{name: ny, registered_model: ny-model, targets: [digital_proxy.balance]}")
    (first,) = run_refresh(config, base=tmp_path)
    assert first.version == "1" and first.unchanged_version is None
    written = pd.read_csv(tmp_path / "out" / "ny.csv")
    assert list(written["unique_id"]) == ["digital_proxy.balance"]
    assert written["first_month"].iloc[0] == "2017-04-01"  # the month after the last figure (2017-03)
    served = mlflow.pyfunc.load_model("models:/ny-model@champion").predict(
        pd.DataFrame({"unique_id": ["digital_proxy.balance"]})
    )
    assert served["total"].iloc[0] == pytest.approx(written["total"].iloc[0])
    (second,) = run_refresh(config, base=tmp_path)  # same data and settings: nothing to redo
    assert second.unchanged_version == "1"


def test_a_bad_study_fails_in_one_line_before_anything_is_written(registered, tmp_path):
    from experiments.refresh import run_refresh
    from features.errors import DeficitError

    for bad, fragment in [
        ("{name: ny, registered_model: m, targets: [x], horizon: 3}", "horizon"),  # not a setting
        ("{name: ny, registered_model: m, targets: [x], model: arima9}", "arima9"),  # unknown model
        ("{name: ny, registered_model: m, targets: [no.such_series]}", "no.such_series"),  # unknown series
    ]:
        with pytest.raises(DeficitError) as err:
            run_refresh(_config(tmp_path, bad), base=tmp_path)
        assert fragment in str(err.value) and "\n" not in str(err.value)
        assert not (tmp_path / "out").exists() and not (tmp_path / "mlruns" / "mlflow.db").exists()


def test_without_registering_the_kind_its_config_key_is_refused(tmp_path):
    from experiments.config import load_config
    from features.errors import ConfigError

    with pytest.raises(ConfigError, match="next_year_studies"):
        load_config(_config(tmp_path, "{name: ny, registered_model: m, targets: [x]}"), base=tmp_path)
