"""Config of an annual projection study (``annual_studies:`` in the refresh YAML), pydantic-validated.

An annual study backtests models with drivers (USD/JPY, AI adoption) on the annual digital
balance and its supporting series, picks a model per target, and projects every target under
every scenario of ``scenarios_dir`` to ``projection_end``. See experiments/studies/annual/study.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from experiments.config_types import Metric
from experiments.names import NAME_PATTERN
from experiments.reconcile_config import ReconcileConfig
from features.yaml_settings import StrictSettings
from forecast.models.registry import available_models, check_model_params, is_combination_model, is_global_model

Driver = Literal["usdjpy", "ai_adoption"]


class FxDriverConfig(StrictSettings):
    """USD/JPY: known ``known_lag_days`` after its period ends; forecast at an origin by ``model``."""

    known_lag_days: int = Field(1, ge=0)
    model: Literal["random_walk", "drift"] = "random_walk"


class AnnualModelSpec(StrictSettings):
    """One candidate: a display ``name``, a registry ``model`` with ``params``, and its ``drivers``."""

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    model: str
    params: dict = {}
    drivers: list[Driver] = []
    # "targets": backtested on the main targets only (a slow model kept off the supporting series).
    scope: Literal["all", "targets"] = "all"

    @field_validator("model")
    @classmethod
    def _known(cls, model: str) -> str:
        if model not in available_models():
            raise ValueError(f"unknown model '{model}'; known: {', '.join(sorted(available_models()))}")
        if is_combination_model(model):
            raise ValueError("ensembles are not offered in annual studies (too few origins to choose members)")
        if is_global_model(model):
            raise ValueError(f"model '{model}' is a global (cross-series) model, which annual studies do not support")
        return model

    @model_validator(mode="after")
    def _params_fit_the_model(self) -> AnnualModelSpec:
        check_model_params(self.model, self.params, season_length=1)
        return self


class AnnualBacktestConfig(StrictSettings):
    """Origins: main targets one step ahead (``horizon``), supporting series further ahead."""

    horizon: int = Field(1, ge=1)
    n_origins: int = Field(12, ge=1)
    supporting_horizon: int = Field(3, ge=1)
    supporting_n_origins: int = Field(8, ge=1)
    publication_lag_days: int = Field(0, ge=0)
    compare_exog_modes: list[Literal["oracle"]] = ["oracle"]
    metric: Metric = "mase"


class SelectionConfig(StrictSettings):
    """The projection model per target: the best of ``candidates`` on the backtest when the target
    has at least ``min_origins`` scored origins, else ``fallback`` (chosen a priori)."""

    candidates: list[str] = Field(min_length=1)
    min_origins: int = Field(5, ge=1)
    fallback: str
    # Also projected under every scenario, beside the selected model, for the report (not served).
    sensitivity: list[str] = []


class AnnualStudyConfig(StrictSettings):
    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    registered_model: str = Field(min_length=1, pattern=NAME_PATTERN)
    # null: the files shipped with the package (configs/annual_series.yaml, configs/ai_adoption.yaml,
    # configs/scenarios); relative paths are relative to the directory the refresh runs from.
    series_catalog: Path | None = None
    adoption_config: Path | None = None
    scenarios_dir: Path | None = None
    targets: list[str] = Field(min_length=1)
    supporting_targets: list[str] = []
    fx: FxDriverConfig = FxDriverConfig()
    models: list[AnnualModelSpec] = Field(min_length=1)
    backtest: AnnualBacktestConfig = AnnualBacktestConfig()
    selection: SelectionConfig
    projection_end: int = Field(2030, ge=2000, le=2100)
    check_year: int | None = 2025  # refit with data through check_year - 1 and compare with the figure
    fan_chart_targets: list[str] = []
    reconcile: ReconcileConfig | None = None  # null: the projections are the models' own (may not add up)

    @model_validator(mode="after")
    def _consistent(self) -> AnnualStudyConfig:
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError("model names are listed more than once")
        unknown = [
            c
            for c in [*self.selection.candidates, self.selection.fallback, *self.selection.sensitivity]
            if c not in names
        ]
        if unknown:
            raise ValueError(f"selection names model '{unknown[0]}', which is not in models")
        if self.selection.fallback not in self.selection.candidates:
            raise ValueError("selection.fallback must be one of selection.candidates")
        both = set(self.targets) & set(self.supporting_targets)
        if both:
            raise ValueError(f"'{sorted(both)[0]}' is both a target and a supporting target")
        stray = set(self.fan_chart_targets) - set(self.targets) - set(self.supporting_targets)
        if stray:
            raise ValueError(f"fan_chart_targets names '{sorted(stray)[0]}', which the study does not project")
        if self.reconcile is not None:
            self.reconcile.check([*self.targets, *self.supporting_targets])
        return self

    def resolve(self, base: Path) -> AnnualStudyConfig:
        def absolute(p: Path | None) -> Path | None:
            return None if p is None else (p if p.is_absolute() else (base / p).resolve())

        return self.model_copy(
            update={
                "series_catalog": absolute(self.series_catalog),
                "adoption_config": absolute(self.adoption_config),
                "scenarios_dir": absolute(self.scenarios_dir),
            }
        )

    def spec(self, name: str) -> AnnualModelSpec:
        return next(m for m in self.models if m.name == name)
