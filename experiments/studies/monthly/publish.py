"""Log the fitted champions as one pyfunc model (models-from-code plus fitted-estimator artifacts)."""

from __future__ import annotations

import json
import tempfile
from importlib import metadata
from pathlib import Path

import joblib
import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

from experiments.scenarios import BASELINE
from experiments.studies.monthly.projection import OUTPUT_COLUMNS
from forecast.models.base import BaseForecaster

PYFUNC_CODE = Path(__file__).with_name("pyfunc.py")
# The model runs in the environment that has this package installed (``--env-manager local``);
# these pins document that environment for anyone rebuilding it, read from what is installed
# (as mlforecast's flavor does), so they cannot drift from requirements-lock.txt.
SERVED_PACKAGES = ("mlflow", "pandas", "statsmodels", "scikit-learn", "prophet", "joblib", "digital-deficit")


def _pins(packages: tuple[str, ...]) -> list[str]:
    pins = []
    for package in packages:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:  # run from a source tree without installing it
            continue
    return pins


PIP_REQUIREMENTS = _pins(SERVED_PACKAGES)

INPUT_SCHEMA = Schema(
    [
        ColSpec("string", "unique_id", required=False),
        ColSpec("datetime", "ds"),
        ColSpec("double", "usdjpy", required=False),
    ]
)
# Declared so MLflow passes ``params={"scenario": ...}`` through to predict instead of dropping it.
# Every published model takes the scenario as a pyfunc param (experiments/scenarios.py).
PARAMS_SCHEMA = ParamSchema([ParamSpec("scenario", "string", BASELINE)])
OUTPUT_SCHEMA = Schema(
    [ColSpec("string", "unique_id"), ColSpec("datetime", "ds"), *(ColSpec("double", c) for c in OUTPUT_COLUMNS[2:])]
)


def log_forecast_model(
    estimators: dict[str, BaseForecaster],
    meta: dict,
    known_usdjpy: pd.Series,
) -> ModelInfo:
    """Log the fitted champions as one pyfunc model inside the active run (not registered yet:
    the gate decides how it enters the registry, see experiments.tracking.registry)."""
    input_example = pd.DataFrame(
        {
            "unique_id": list(estimators),
            "ds": [pd.Timestamp(meta["targets"][uid]["first_forecast"]) for uid in estimators],
        }
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        joblib.dump(estimators, tmp / "estimators.joblib")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        known_usdjpy.rename("usdjpy").rename_axis("ds").reset_index().to_csv(tmp / "usdjpy.csv", index=False)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_CODE),
            artifacts={
                "estimators": str(tmp / "estimators.joblib"),
                "meta": str(tmp / "meta.json"),
                "usdjpy": str(tmp / "usdjpy.csv"),
            },
            signature=ModelSignature(inputs=INPUT_SCHEMA, outputs=OUTPUT_SCHEMA, params=PARAMS_SCHEMA),
            input_example=input_example,
            pip_requirements=PIP_REQUIREMENTS,
            metadata=meta,
        )
    return info
