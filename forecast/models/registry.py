"""Public model names and the factory that builds a forecaster from a name and config parameters."""

from __future__ import annotations

import inspect
from typing import Any

from features.errors import ConfigError
from forecast.errors import UnknownModelError
from forecast.models.auto_arima import AutoARIMAForecaster
from forecast.models.auto_ets import AutoETSForecaster
from forecast.models.auto_theta import AutoThetaForecaster
from forecast.models.base import BaseForecaster
from forecast.models.ces import CESForecaster
from forecast.models.ensemble import EnsembleForecaster
from forecast.models.ets import ETSForecaster
from forecast.models.fx_decomposition import DollarVolumeForecaster
from forecast.models.gbm import GradientBoostingForecaster
from forecast.models.global_base import GlobalForecaster
from forecast.models.m4_benchmarks import Naive2Forecaster, ThetaM4Forecaster
from forecast.models.naive import DriftForecaster, NaiveForecaster, SeasonalNaiveForecaster
from forecast.models.pooled_window import PooledMLPForecaster, PooledRidgeForecaster
from forecast.models.prophet_model import ProphetForecaster
from forecast.models.sarimax import SARIMAXForecaster
from forecast.models.state_space import LocalTrendForecaster
from forecast.models.theta import ThetaForecaster
from forecast.models.trend_regression import TrendRegressionForecaster

# Global (cross-series) models carry the class tag is_global; the backtest fits them on the whole
# panel (forecast/backtest/global_engine.py).
MODEL_REGISTRY: dict[str, type[BaseForecaster] | type[GlobalForecaster]] = {
    "naive": NaiveForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "drift": DriftForecaster,
    "ets": ETSForecaster,
    "sarimax": SARIMAXForecaster,
    "theta": ThetaForecaster,
    "prophet": ProphetForecaster,
    "gbm": GradientBoostingForecaster,
    "ensemble": EnsembleForecaster,
    "naive2": Naive2Forecaster,
    "theta_m4": ThetaM4Forecaster,
    "local_trend": LocalTrendForecaster,
    "trend_regression": TrendRegressionForecaster,
    "dollar_volume": DollarVolumeForecaster,
    "auto_ets": AutoETSForecaster,
    "auto_theta": AutoThetaForecaster,
    "ces": CESForecaster,
    "auto_arima": AutoARIMAForecaster,
    "pooled_ridge": PooledRidgeForecaster,
    "pooled_mlp": PooledMLPForecaster,
}

# Members of an "ensemble" whose params name none: three cheap models with different strengths.
DEFAULT_ENSEMBLE_MEMBERS: tuple[str, ...] = ("ets", "theta", "seasonal_naive")
_ENSEMBLE_KEYS = {"members", "method"}


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
    if cls is EnsembleForecaster:
        return _make_ensemble(season_length, params)
    accepted = _init_params(cls)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ConfigError(f"model '{name}' has no parameter(s) {unknown}; accepted: {sorted(accepted)}")
    if "season_length" in accepted:
        params.setdefault("season_length", season_length)
    return cls(**params)


def is_global_model(name: str) -> bool:
    """Whether the model called ``name`` is fitted on many series at once (``is_global``)."""
    return bool(getattr(_lookup(name), "is_global", False))


def model_uses_exog(name: str, params: dict[str, Any] | None = None) -> bool:
    """Whether the model called ``name`` reads exogenous regressors (an ensemble: if any member does)."""
    cls = _lookup(name)
    if cls is EnsembleForecaster:
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
    if "ensemble" in members:
        raise ConfigError("an ensemble cannot contain another ensemble")
    pooled = [m for m in members if is_global_model(m)]
    if pooled:
        raise ConfigError(f"an ensemble forecasts one series at a time; global (cross-series) model(s) {pooled} cannot be members")
    method = params.get("method", "median")
    if method not in ("mean", "median"):
        raise ConfigError(f"model 'ensemble' has method '{method}'; accepted: mean, median")
    estimators = [(member, make_model(member, season_length)) for member in members]
    return EnsembleForecaster(estimators=estimators, method=method)


def _init_params(cls: type) -> set[str]:
    return {p for p in inspect.signature(cls.__init__).parameters if p != "self"}
