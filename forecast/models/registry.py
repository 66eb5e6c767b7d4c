"""Public model names and the factory that builds a forecaster from a name and config parameters."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any, cast

from features.errors import ConfigError
from forecast.errors import UnknownModelError
from forecast.models.base import TAGS, BaseForecaster, Forecaster
from forecast.models.ensemble import EnsembleForecaster
from forecast.models.global_base import GlobalForecaster


class _LazyModels(Mapping):
    """Model name -> class, importing a model's module the first time its name is asked for: a
    command that uses naive and ETS does not pay for importing Prophet, scikit-learn's ensembles
    and the automatic ARIMA search (~1.5 s of a CLI start)."""

    def __init__(self, paths: dict[str, str]):
        self._paths = paths
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        if name not in self._classes:
            module, _, cls = self._paths[name].partition(":")  # KeyError for an unknown name
            self._classes[name] = getattr(importlib.import_module(module), cls)
        return self._classes[name]

    def __iter__(self):
        return iter(self._paths)

    def add(self, name: str, cls: type) -> None:
        self._paths[name] = f"{cls.__module__}:{cls.__qualname__}"
        self._classes[name] = cls

    def remove(self, name: str) -> None:
        self._paths.pop(name)
        self._classes.pop(name, None)

    def __len__(self) -> int:
        return len(self._paths)


# Global (cross-series) models carry the class tag is_global; the backtest fits them on the whole
# panel (forecast/backtest/global_engine.py).
MODEL_REGISTRY: Mapping[str, type[BaseForecaster] | type[GlobalForecaster]] = _LazyModels(
    {
        "naive": "forecast.models.naive:NaiveForecaster",
        "seasonal_naive": "forecast.models.naive:SeasonalNaiveForecaster",
        "drift": "forecast.models.naive:DriftForecaster",
        "ets": "forecast.models.ets:ETSForecaster",
        "sarimax": "forecast.models.sarimax:SARIMAXForecaster",
        "theta": "forecast.models.theta:ThetaForecaster",
        "prophet": "forecast.models.prophet_model:ProphetForecaster",
        "gbm": "forecast.models.gbm:GradientBoostingForecaster",
        "ensemble": "forecast.models.ensemble:EnsembleForecaster",
        "naive2": "forecast.models.m4_benchmarks:Naive2Forecaster",
        "theta_m4": "forecast.models.m4_benchmarks:ThetaM4Forecaster",
        "local_trend": "forecast.models.state_space:LocalTrendForecaster",
        "trend_regression": "forecast.models.trend_regression:TrendRegressionForecaster",
        "dollar_volume": "forecast.models.fx_decomposition:DollarVolumeForecaster",
        "auto_ets": "forecast.models.auto_ets:AutoETSForecaster",
        "stl_ets": "forecast.models.stl_ets:STLETSForecaster",
        "auto_theta": "forecast.models.auto_theta:AutoThetaForecaster",
        "ces": "forecast.models.ces:CESForecaster",
        "auto_arima": "forecast.models.auto_arima:AutoARIMAForecaster",
        "pooled_ridge": "forecast.models.pooled_window:PooledRidgeForecaster",
        "pooled_mlp": "forecast.models.pooled_window:PooledMLPForecaster",
    }
)

# Members of an "ensemble" whose params name none: three cheap models with different strengths.
DEFAULT_ENSEMBLE_MEMBERS: tuple[str, ...] = ("ets", "theta", "seasonal_naive")
_ENSEMBLE_KEYS = {"members", "method"}


def register_model(name: str, cls: type) -> None:
    """Make a model class of your own available by ``name`` everywhere a model name is accepted
    (configs, ``deficit backtest --models``, ``make_model``). The class must derive from
    ``Forecaster`` (check it with ``forecast.checks.check_forecaster``)."""
    if name in MODEL_REGISTRY:
        raise ValueError(f"a model called {name!r} is already registered")
    if not (isinstance(cls, type) and issubclass(cls, Forecaster)):
        raise TypeError(f"{cls!r} is not a Forecaster subclass")
    cast(_LazyModels, MODEL_REGISTRY).add(name, cls)


def unregister_model(name: str) -> None:
    """Remove a model registered with :func:`register_model`."""
    cast(_LazyModels, MODEL_REGISTRY).remove(name)


def available_models() -> list[str]:
    return list(MODEL_REGISTRY)


def make_model(
    name: str, season_length: int, params: dict[str, Any] | None = None
) -> BaseForecaster | GlobalForecaster:
    """Build the model called ``name``; ``season_length`` goes to the classes that take one.

    For ``"ensemble"``, ``params`` may hold ``members`` (model names, each built with default
    parameters) and ``method`` ("median" or "mean").
    """
    cls = _lookup(name)
    params = dict(params or {})
    if cls.is_combination:
        return _make_ensemble(season_length, params)
    accepted = _init_params(cls)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ConfigError(f"model '{name}' has no parameter(s) {unknown}; accepted: {sorted(accepted)}")
    if "season_length" in accepted:
        params.setdefault("season_length", season_length)
    return cls(**params)


def check_model_params(name: str, params: dict[str, Any], season_length: int) -> None:
    """ValueError (for config validators) unless ``make_model(name, season_length, params)`` accepts
    ``params``: each name against the estimator's own ``__init__`` signature, ensemble members and
    method. Building a model only stores its parameters, so this is cheap and writes nothing."""
    try:
        make_model(name, season_length, params)
    except (ConfigError, UnknownModelError) as exc:
        raise ValueError(str(exc)) from None


def model_tags(name: str) -> dict[str, bool]:
    """The capability tags (forecast.models.base.TAGS) of the model class called ``name``; a tag the
    class decides per instance (an ensemble's ``uses_exog`` follows its members) is left out."""
    cls = _lookup(name)
    return {tag: bool(getattr(cls, tag)) for tag in TAGS if isinstance(getattr(cls, tag), bool)}


def is_global_model(name: str) -> bool:
    """Whether the model called ``name`` is fitted on many series at once (``is_global``)."""
    return model_tags(name)["is_global"]


def is_combination_model(name: str) -> bool:
    """Whether the model called ``name`` combines other models chosen on backtest errors: a study
    backtests it as a selection over the other models' forecasts (``is_combination``)."""
    return model_tags(name)["is_combination"]


def model_uses_exog(name: str, params: dict[str, Any] | None = None) -> bool:
    """Whether the model called ``name`` reads exogenous regressors (an ensemble: if any member does)."""
    cls = _lookup(name)
    if cls.is_combination:
        members = (params or {}).get("members", DEFAULT_ENSEMBLE_MEMBERS)
        return any(model_uses_exog(member) for member in members)
    return cls.uses_exog


def _lookup(name: str) -> type[BaseForecaster] | type[GlobalForecaster]:
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise UnknownModelError(f"unknown model '{name}'; known: {', '.join(MODEL_REGISTRY)}") from None


def _make_ensemble(season_length: int, params: dict[str, Any]) -> EnsembleForecaster:
    unknown = sorted(set(params) - _ENSEMBLE_KEYS)
    if unknown:
        raise ConfigError(f"model 'ensemble' has no parameter(s) {unknown}; accepted: {sorted(_ENSEMBLE_KEYS)}")
    members = list(params.get("members", DEFAULT_ENSEMBLE_MEMBERS))
    if not members:
        raise ConfigError("model 'ensemble' needs at least one member")
    if any(is_combination_model(m) for m in members if m in MODEL_REGISTRY):
        raise ConfigError("an ensemble cannot contain another ensemble")
    pooled = [m for m in members if is_global_model(m)]
    if pooled:
        raise ConfigError(
            f"an ensemble forecasts one series at a time; global (cross-series) model(s) {pooled} cannot be members"
        )
    method = params.get("method", "median")
    if method not in ("mean", "median"):
        raise ConfigError(f"model 'ensemble' has method '{method}'; accepted: mean, median")
    estimators = [(member, make_model(member, season_length)) for member in members]
    return EnsembleForecaster(estimators=estimators, method=method)


def _init_params(cls: type[BaseForecaster] | type[GlobalForecaster]) -> set[str]:
    return {p for p in inspect.signature(cls.__init__).parameters if p != "self"}
