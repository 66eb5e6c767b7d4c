"""The refresh configuration: a YAML file validated with pydantic.

A config is a list of *studies*. Each study names its target series, frequency, candidate models,
backtest settings and the MLflow registered model it publishes. Validation happens before any
data is touched or anything is written, so a bad config changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import GenericAlias
from typing import Any, Literal, get_args, get_origin

from pydantic import Field, create_model, field_validator, model_validator

from experiments.config_types import Metric
from experiments.names import NAME_PATTERN
from experiments.reconcile_config import ReconcileConfig
from experiments.studies.annual.config import AnnualStudyConfig
from experiments.studies.mixed.config import MixedStudyConfig
from features.data_defaults import BUNDLED, DEFAULT_BOJ_CATALOGUE, DEFAULT_DATA_DIR, NEWEST
from features.errors import ConfigError
from features.sources.boj_api import DEFAULT_BASE_URL
from features.yaml_settings import StrictSettings, read_mapping, validate_settings
from forecast.frequency import FREQ_ALIAS, SEASON_LENGTH
from forecast.models.registry import available_models, check_model_params, is_combination_model, is_global_model


class BacktestConfig(StrictSettings):
    horizon: int = Field(12, ge=1)
    n_origins: int = Field(24, ge=1)
    step: int = Field(1, ge=1)
    refit_every: int = Field(1, ge=1)
    # Start each refit's optimiser from the previous origin's parameters (BacktestSettings.warm_start).
    warm_start: bool = False
    # Origins per parallel task; null keeps each (series, model) pair in one task.
    origins_per_task: int | None = Field(12, ge=1)
    # Build each origin's view of a series (target history, driver paths) once for all models
    # instead of once per model (BacktestSettings.share_features); forecasts are identical.
    share_features: bool = False
    metric: Metric = "mase"
    # Drivers after the cutoff: "last_value" carries the last known value forward; "forecast" uses
    # each driver's own forecast (USD/JPY: a random walk, the same point path). Modes listed in
    # compare_exog_modes (e.g. oracle = realised future drivers, an upper bound) are scored beside
    # it in leaderboard_exog_modes.csv and never ranked or selected. publication_lag_days: each
    # origin sees only target periods published by then (monthly BoP: about 42 days).
    exog_mode: Literal["last_value", "forecast"] = "last_value"
    compare_exog_modes: list[Literal["oracle", "last_value", "forecast"]] = []
    compare_exog_every: int = Field(3, ge=1)  # compare at every k-th origin (newest first): 1/k the cost
    publication_lag_days: int = Field(0, ge=0)


class EnsembleConfig(StrictSettings):
    k: int = Field(3, ge=2)
    method: Literal["mean", "median"] = "median"


class GateConfig(StrictSettings):
    """Champion/challenger rule: promote only if better by ``margin`` (relative) on ``metric``
    (default: the backtest metric) AND a one-sided Diebold-Mariano test rejects equal accuracy
    at level ``alpha``."""

    metric: Metric | None = None
    margin: float = Field(0.02, ge=0, lt=1)
    alpha: float = Field(0.05, gt=0, lt=1)


class StudyConfig(StrictSettings):
    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    registered_model: str = Field(min_length=1, pattern=NAME_PATTERN)
    frequency: Literal["monthly", "quarterly", "annual"] = "monthly"
    targets: list[str] = Field(min_length=1)
    exog: list[Literal["usdjpy"]] = ["usdjpy"]
    models: list[str] = Field(min_length=1)
    model_params: dict[str, dict] = {}
    backtest: BacktestConfig = BacktestConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
    gate: GateConfig = GateConfig()
    projection_horizon: int = Field(24, ge=1)
    # null: each target's projection is its champion's own (they need not add up); see
    # experiments/studies/monthly/reconcile.py.
    reconcile: ReconcileConfig | None = None

    @field_validator("models")
    @classmethod
    def _known_models(cls, models: list[str]) -> list[str]:
        known = set(available_models())
        unknown = [m for m in models if m not in known]
        if unknown:
            raise ValueError(f"unknown model '{unknown[0]}'; known: {', '.join(sorted(known))}")
        if len(set(models)) != len(models):
            raise ValueError("models are listed more than once")
        pooled = [m for m in models if is_global_model(m)]
        if pooled:
            # A study fits and serves one model per target; a cross-series model has no such fit.
            raise ValueError(
                f"model '{pooled[0]}' is a global (cross-series) model, which refresh studies do not "
                "support (they fit one model per target); backtest it with `deficit backtest`"
            )
        return models

    @model_validator(mode="after")
    def _params_for_listed_models(self) -> StudyConfig:
        stray = set(self.model_params) - set(self.models)
        if stray:
            raise ValueError(f"model_params for models not in the study: {sorted(stray)}")
        for name, params in self.model_params.items():
            check_model_params(name, params, self.season_length)
        combined = [m for m in self.models if not is_combination_model(m)]
        if len(combined) < len(self.models) and len(combined) < self.ensemble.k:
            raise ValueError(f"ensemble.k={self.ensemble.k} exceeds the number of base models")
        if self.reconcile is not None:
            self.reconcile.check(self.targets)
        return self

    @property
    def freq(self) -> str:
        return FREQ_ALIAS[self.frequency]

    @property
    def season_length(self) -> int:
        return SEASON_LENGTH[FREQ_ALIAS[self.frequency]]


class DataConfig(StrictSettings):
    """Official data for the refresh: the vintage store and, optionally, a BOJ API fetch first."""

    dir: Path = DEFAULT_DATA_DIR
    vintage: str = Field(NEWEST, pattern=rf"^({NEWEST}|{BUNDLED}|[0-9a-f]{{4,16}})$")
    fetch: bool = False
    on_fetch_error: Literal["use_local", "fail"] = "use_local"
    boj_api_url: str = DEFAULT_BASE_URL
    boj_catalogue: Path = DEFAULT_BOJ_CATALOGUE

    @model_validator(mode="after")
    def _fetch_uses_newest(self) -> DataConfig:
        if self.fetch and self.vintage != NEWEST:
            raise ValueError(f"fetch: true stores a new vintage, so vintage must be '{NEWEST}'")
        return self


class ExecutorConfig(StrictSettings):
    """Where the refresh's backtest tasks run: joblib processes on this machine (``n_jobs``), or
    Dask, on the scheduler at ``scheduler_address`` or on a LocalCluster of ``n_workers``
    (default ``n_jobs``) started for the refresh. Results are identical either way."""

    backend: Literal["joblib", "dask"] = "joblib"
    scheduler_address: str | None = Field(None, min_length=1)
    n_workers: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> ExecutorConfig:
        if self.backend == "joblib" and (self.scheduler_address is not None or self.n_workers is not None):
            raise ValueError("scheduler_address and n_workers need backend: dask (joblib uses n_jobs)")
        if self.scheduler_address is not None and self.n_workers is not None:
            raise ValueError("n_workers sizes a local cluster; with scheduler_address the scheduler's workers run")
        return self


class RefreshConfig(StrictSettings):
    tracking_uri: str | None = None
    mlruns_dir: Path = Path("mlruns")
    series_catalog: Path = Path("configs/series.yaml")
    snapshot_dir: Path | None = None
    data: DataConfig = DataConfig()
    output_dir: Path = Path("projections")
    report_lang: Literal["en", "ja"] = "en"  # the monthly reports' labels (deficit report --lang rewrites them)
    # Free space the output and store directories must have before a refresh starts (a forced
    # refresh of configs/default.yaml adds ~9 MB to the store and ~3 MB of outputs).
    min_free_mb: float = Field(100, ge=0)
    n_jobs: int = Field(2, ge=1)
    executor: ExecutorConfig = ExecutorConfig()
    # Remote tracking servers: MLflow's own HTTP retries, with exponential backoff, before giving up.
    tracking_retries: int = Field(4, ge=0)
    tracking_backoff_seconds: int = Field(1, ge=0)  # MLflow takes whole seconds
    # Monthly studies (experiments/studies/monthly/); a config needs at least one study of any kind.
    studies: list[StudyConfig] = []
    # Annual projection studies with drivers and scenarios (experiments/studies/annual/study.py), and the
    # scenario folder whose definitions monthly models also serve (pyfunc param ``scenario``).
    annual_studies: list[AnnualStudyConfig] = []
    scenarios_dir: Path | None = None  # null: the scenarios shipped with the package (configs/scenarios)
    # Monthly paths from every published figure at its own frequency (experiments/studies/mixed/).
    mixed_frequency_studies: list[MixedStudyConfig] = []

    @model_validator(mode="after")
    def _unique_studies(self) -> RefreshConfig:
        kinds = self._study_lists()
        studies = [study for key in kinds for study in getattr(self, key)]
        if not studies:
            raise ValueError(f"no study: list at least one under {', '.join(kinds)}")
        for label, values in (
            ("study name", [s.name for s in studies]),
            ("registered model", [s.registered_model for s in studies]),
        ):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"{label} '{repeated[0]}' is used by more than one study")
        return self

    def resolve(self, base: Path) -> RefreshConfig:
        """Paths in the file are relative to the directory the job runs from (``base``)."""

        def absolute(p: Path | None) -> Path | None:
            return None if p is None else (p if p.is_absolute() else (base / p).resolve())

        return self.model_copy(
            update={
                "mlruns_dir": absolute(self.mlruns_dir),
                "series_catalog": absolute(self.series_catalog),
                "snapshot_dir": absolute(self.snapshot_dir),
                "data": self.data.model_copy(
                    update={"dir": absolute(self.data.dir), "boj_catalogue": absolute(self.data.boj_catalogue)}
                ),
                "output_dir": absolute(self.output_dir),
                "scenarios_dir": absolute(self.scenarios_dir),
                **{key: [_resolved(s, base) for s in getattr(self, key)] for key in self._study_lists()},
            }
        )

    @classmethod
    def _study_lists(cls) -> list[str]:
        """The fields that list studies (the shipped kinds' and those :func:`refresh_config_model`
        adds), read from their types: a list of settings with a ``registered_model``."""
        keys = []
        for key, field in cls.model_fields.items():
            if get_origin(field.annotation) is not list:
                continue
            (item,) = get_args(field.annotation)
            if "registered_model" in getattr(item, "model_fields", {}):
                keys.append(key)
        return keys


def _resolved(study: Any, base: Path) -> Any:
    return study.resolve(base) if hasattr(study, "resolve") else study


def refresh_config_model() -> type[RefreshConfig]:
    """``RefreshConfig`` plus one list per study kind registered from your own code
    (experiments/studies/kinds.py: ``register_study_kind``), so its studies are validated with the
    rest of the config, before any write. A kind's settings may define ``resolve(base)`` for paths."""
    from experiments.studies.kinds import registered_study_kinds

    extra: dict[str, Any] = {kind.key: (GenericAlias(list, (kind.config,)), []) for kind in registered_study_kinds()}
    if not extra:
        return RefreshConfig
    return create_model("RefreshConfig", __base__=RefreshConfig, **extra)


def load_config(path: Path, base: Path | None = None) -> tuple[RefreshConfig, str]:
    """Read and validate ``path``; return the config (paths made absolute) and its content hash."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    raw = read_mapping(path, "a mapping with a 'studies' list at the top level")
    config = validate_settings(refresh_config_model(), raw, path)
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return config.resolve(base or Path.cwd()), digest
