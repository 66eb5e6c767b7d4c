"""Log the fitted champions as one pyfunc model (models-from-code plus fitted-estimator artifacts)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import joblib
import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

from experiments.projection import OUTPUT_COLUMNS
from experiments.scenarios import BASELINE
from forecast.models.base import BaseForecaster

PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")
# The model runs in the environment that has this package installed (``--env-manager local``);
# these pins document that environment for anyone rebuilding it.
PIP_REQUIREMENTS = [
    f"mlflow=={mlflow.__version__}",
    f"pandas=={pd.__version__}",
    "statsmodels==0.15.0",
    "scikit-learn==1.9.1",
    "prophet==1.5.0",
    "joblib==1.6.0",
    "digital-deficit==0.1.0",
]

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
    the gate decides how it enters the registry, see experiments.model_registry)."""
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
