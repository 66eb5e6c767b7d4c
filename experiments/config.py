"""The refresh configuration: a YAML file validated with pydantic.

A config is a list of *studies*. Each study names its target series, frequency, candidate models,
backtest settings and the MLflow registered model it publishes. Validation happens before any
data is touched or anything is written, so a bad config changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.errors import ConfigError
from forecast.models.registry import available_models

FREQ_ALIAS: dict[str, str] = {"monthly": "MS", "quarterly": "QS", "annual": "YS"}
SEASON_LENGTH: dict[str, int] = {"monthly": 12, "quarterly": 4, "annual": 1}
Metric = Literal["mase", "smape", "rmse", "mae", "pinball"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BacktestConfig(_Strict):
    horizon: int = Field(12, ge=1)
    n_origins: int = Field(24, ge=1)
    step: int = Field(1, ge=1)
    refit_every: int = Field(1, ge=1)
    metric: Metric = "mase"


class EnsembleConfig(_Strict):
    k: int = Field(3, ge=2)
    method: Literal["mean", "median"] = "median"


class StudyConfig(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    registered_model: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    frequency: Literal["monthly", "quarterly", "annual"] = "monthly"
    targets: list[str] = Field(min_length=1)
    exog: list[Literal["usdjpy"]] = ["usdjpy"]
    models: list[str] = Field(min_length=1)
    model_params: dict[str, dict] = {}
    backtest: BacktestConfig = BacktestConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
    projection_horizon: int = Field(24, ge=1)

    @field_validator("models")
    @classmethod
    def _known_models(cls, models: list[str]) -> list[str]:
        known = set(available_models())
        unknown = [m for m in models if m not in known]
        if unknown:
            raise ValueError(f"unknown model '{unknown[0]}'; known: {', '.join(sorted(known))}")
        if len(set(models)) != len(models):
            raise ValueError("models are listed more than once")
        return models

    @model_validator(mode="after")
    def _params_for_listed_models(self) -> "StudyConfig":
        stray = set(self.model_params) - set(self.models)
        if stray:
            raise ValueError(f"model_params for models not in the study: {sorted(stray)}")
        if "ensemble" in self.models and len([m for m in self.models if m != "ensemble"]) < self.ensemble.k:
            raise ValueError(f"ensemble.k={self.ensemble.k} exceeds the number of base models")
        return self

    @property
    def freq(self) -> str:
        return FREQ_ALIAS[self.frequency]

    @property
    def season_length(self) -> int:
        return SEASON_LENGTH[self.frequency]


class RefreshConfig(_Strict):
    tracking_uri: str | None = None
    mlruns_dir: Path = Path("mlruns")
    series_catalog: Path = Path("configs/series.yaml")
    snapshot_dir: Path | None = None
    output_dir: Path = Path("projections")
    n_jobs: int = Field(2, ge=1)
    studies: list[StudyConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_studies(self) -> "RefreshConfig":
        names = [s.name for s in self.studies]
        if len(set(names)) != len(names):
            raise ValueError("study names must be unique")
        return self

    def resolve(self, base: Path) -> "RefreshConfig":
        """Paths in the file are relative to the directory the job runs from (``base``)."""
        def absolute(p: Path | None) -> Path | None:
            return None if p is None else (p if p.is_absolute() else (base / p).resolve())

        return self.model_copy(
            update={
                "mlruns_dir": absolute(self.mlruns_dir),
                "series_catalog": absolute(self.series_catalog),
                "snapshot_dir": absolute(self.snapshot_dir),
                "output_dir": absolute(self.output_dir),
            }
        )


def load_config(path: Path, base: Path | None = None) -> tuple[RefreshConfig, str]:
    """Read and validate ``path``; return the config (paths made absolute) and its content hash."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'studies' list at the top level")
    try:
        config = RefreshConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {where}: {err['msg']}{more}") from None
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return config.resolve(base or Path.cwd()), digest
