"""How a refresh's candidate enters the registry: recipe, champion re-score, gate, lineage tags.

A model version records its *recipe* (per target: the model name and its parameters). To judge
a new candidate, the champion's recipe is scored on the same backtest folds of the same data,
reusing the refresh's forecasts where the recipe's model was already run with the same
parameters, and running the engine only for what is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from experiments.config import StudyConfig
from experiments.tracking import registry
from experiments.tracking.gate import GateDecision, decide
from forecast.backtest.engine import BacktestResult, BacktestSettings, cross_validate
from forecast.backtest.ensemble import add_selected_ensemble
from forecast.backtest.executors import Executor
from forecast.models.registry import is_combination_model, make_model

RECIPE_TAG = "recipe"


def model_params(study: StudyConfig, name: str) -> dict:
    """The parameters a study gives model ``name`` (a combination's are its selection rule)."""
    if is_combination_model(name):
        return {"k": study.ensemble.k, "method": study.ensemble.method, "metric": study.backtest.metric}
    return dict(study.model_params.get(name, {}))


def study_recipe(study: StudyConfig, champions: dict[str, str]) -> dict[str, dict]:
    """Per target, what produced its forecasts: model name and parameters."""
    return {uid: {"model": name, "params": model_params(study, name)} for uid, name in sorted(champions.items())}


def recipe_forecasts(
    recipe: dict[str, dict],
    study: StudyConfig,
    result: BacktestResult,
    panel: pd.DataFrame,
    settings: BacktestSettings,
    exog: list[str],
    executor: Executor,
) -> pd.DataFrame:
    """Backtest forecasts of ``recipe`` on this refresh's folds, for the targets the panel has."""
    frames = []
    for uid, spec in recipe.items():
        if uid not in set(panel["unique_id"]):
            continue
        name, params = spec["model"], spec.get("params", {})
        rows = result.forecasts[(result.forecasts["unique_id"] == uid) & (result.forecasts["model"] == name)]
        if name in study.models and model_params(study, name) == params and len(rows):
            frames.append(rows)
        elif is_combination_model(name):
            rerun = add_selected_ensemble(
                result, k=params["k"], method=params["method"], metric=params["metric"], name="_champion_ensemble"
            )
            f = rerun.forecasts
            frames.append(f[(f["unique_id"] == uid) & (f["model"] == "_champion_ensemble")].assign(model=name))
        else:
            model = make_model(name, study.season_length, params)
            one = panel[panel["unique_id"] == uid]
            frames.append(cross_validate(one, {name: model}, settings, exog_columns=exog, executor=executor).forecasts)
    return pd.concat(frames, ignore_index=True) if frames else result.forecasts.iloc[0:0]


def candidate_forecasts(result: BacktestResult, champions: dict[str, str]) -> pd.DataFrame:
    f = result.forecasts
    picked = pd.Series(champions).rename_axis("unique_id").rename("model").reset_index()
    return f.merge(picked, on=["unique_id", "model"])


@dataclass(frozen=True)
class Registration:
    version: ModelVersion
    decision: GateDecision
    previous_champion: str | None


def gate_candidate(
    client: MlflowClient,
    study: StudyConfig,
    result: BacktestResult,
    champions: dict[str, str],
    panel: pd.DataFrame,
    settings: BacktestSettings,
    exog: list[str],
    executor: Executor,
    force: bool,
) -> tuple[GateDecision, ModelVersion | None]:
    """Decide whether this refresh's candidate may replace the current champion."""
    champion = registry.alias_version(client, study.registered_model, registry.CHAMPION)
    if force:
        return GateDecision(True, "promotion forced with --force-promote", forced=True), champion
    if champion is None:
        return GateDecision(True, "first champion of this registered model"), None
    recipe = json.loads(champion.tags.get(RECIPE_TAG, "{}"))
    if not recipe:
        return GateDecision(True, f"version {champion.version} has no recipe to re-score; replaced"), champion
    gate = study.gate
    decision = decide(
        recipe_forecasts(recipe, study, result, panel, settings, exog, executor),
        candidate_forecasts(result, champions),
        metric=gate.metric or study.backtest.metric,
        margin=gate.margin,
        alpha=gate.alpha,
        horizon=settings.horizon,
        step=settings.step,
    )
    return decision, champion


def register_candidate(
    client: MlflowClient,
    name: str,
    model_uri: str,
    run_id: str,
    model_id: str | None,
    tags: dict[str, str],
    decision: GateDecision,
    previous: ModelVersion | None,
) -> Registration:
    """Create the version with every lineage tag in one request, then move the aliases."""
    tags = {**tags, **decision.tags(), "previous_champion": str(previous.version) if previous else ""}
    version = registry.create_version(client, name, model_uri, run_id, model_id, tags, description=decision.reason)
    if decision.promote:
        registry.promote(client, name, str(version.version), decision.reason)
    else:
        registry.mark_challenger(client, name, str(version.version))
    return Registration(version, decision, str(previous.version) if previous else None)
