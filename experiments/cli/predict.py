"""``deficit predict``: load a registered model and ask it for the next N periods of every series."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd

import experiments.runtime  # noqa: F401
from experiments.scenarios import BASELINE, UnknownScenarioError
from experiments.studies.monthly.projection import period_label
from experiments.tracking.store import resolve_tracking_uri, use_tracking
from features.errors import DeficitError


def forecast_request(meta: dict, horizon: int, series: list[str] | None = None) -> pd.DataFrame:
    """The ``horizon`` periods after each target's last observation, as a pyfunc input frame."""
    targets = meta["targets"]
    wanted = series or list(targets)
    unknown = [s for s in wanted if s not in targets]
    if unknown:
        raise DeficitError(f"unknown series '{unknown[0]}'; the model knows: {', '.join(targets)}")
    frames = [
        pd.DataFrame(
            {"unique_id": uid, "ds": pd.date_range(targets[uid]["first_forecast"], periods=horizon, freq=meta["freq"])}
        )
        for uid in wanted
    ]
    return pd.concat(frames, ignore_index=True)


def served_scenario_names(model_uri: str, model) -> list[str]:
    """The scenario names a loaded model accepts. A model whose signature declares no ``scenario``
    param is refused: MLflow would drop the param with a warning and serve the baseline silently."""
    schema = model.metadata.get_params_schema()
    if schema is None or "scenario" not in {p.name for p in schema.params}:
        raise DeficitError(f"{model_uri} takes no scenario (its signature has no 'scenario' param); omit --scenario")
    stored = (model.metadata.metadata or {}).get("scenarios")
    # Monthly versions store {name: scenario}, annual ones a list of names; versions published
    # before scenarios existed serve the baseline only (experiments.scenarios.served_scenarios).
    return sorted(stored) if stored else [BASELINE]


def load_and_predict(
    model_uri: str, horizon: int, series: list[str] | None, mlruns_dir: Path, scenarios: list[str] | None = None
) -> pd.DataFrame:
    """Projections of ``horizon`` periods; with ``scenarios``, one block of rows per scenario (in
    the order given) with a ``scenario`` column, every name checked before any prediction."""
    use_tracking(resolve_tracking_uri(None, mlruns_dir))
    model = mlflow.pyfunc.load_model(model_uri)
    meta = model.metadata.metadata or {}
    if "targets" not in meta:
        raise DeficitError(f"{model_uri} is not a digital-deficit forecasting model (no target metadata)")
    request = forecast_request(meta, horizon, series)
    if scenarios:
        known = served_scenario_names(model_uri, model)
        unknown = [s for s in scenarios if s not in known]
        if unknown:
            raise UnknownScenarioError(f"unknown scenario '{unknown[0]}'; {model_uri} knows: {', '.join(known)}")
        out = pd.concat(
            [_scenario_block(model.predict(request, params={"scenario": s}), s) for s in dict.fromkeys(scenarios)],
            ignore_index=True,
        )
    else:
        out = model.predict(request)
    out["last_observed"] = out["unique_id"].map(
        {u: period_label(t["last_observed"], meta["freq"]) for u, t in meta["targets"].items()}
    )
    out["data_vintage"] = meta.get("data_vintage")
    return out


def _scenario_block(frame: pd.DataFrame, scenario: str) -> pd.DataFrame:
    # The annual model names the scenario in its output, the monthly one does not.
    if "scenario" not in frame.columns:
        frame.insert(0, "scenario", scenario)
    return frame
