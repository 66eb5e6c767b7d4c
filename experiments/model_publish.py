"""Log the fitted champions as one pyfunc model, register it, and point ``@champion`` at it."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import joblib
import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import ColSpec, Schema

from experiments.projection import OUTPUT_COLUMNS
from forecast.models.base import BaseForecaster

PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")
CHAMPION_ALIAS = "champion"
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
OUTPUT_SCHEMA = Schema([ColSpec("string", "unique_id"), ColSpec("datetime", "ds")] + [ColSpec("double", c) for c in OUTPUT_COLUMNS[2:]])


@dataclass(frozen=True)
class PublishedModel:
    name: str
    version: str
    model_uri: str


def publish_model(
    client: MlflowClient,
    registered_name: str,
    estimators: dict[str, BaseForecaster],
    meta: dict,
    known_usdjpy: pd.Series,
) -> PublishedModel:
    """Log inside the active run, register a new version and give it the champion alias."""
    input_example = pd.DataFrame(
        {
            "unique_id": list(estimators),
            "ds": [pd.Timestamp(meta["targets"][uid]["first_forecast"]) for uid in estimators],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
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
            signature=ModelSignature(inputs=INPUT_SCHEMA, outputs=OUTPUT_SCHEMA),
            input_example=input_example,
            pip_requirements=PIP_REQUIREMENTS,
            registered_model_name=registered_name,
            metadata=meta,
        )
    version = str(info.registered_model_version)
    client.set_registered_model_alias(registered_name, CHAMPION_ALIAS, version)
    return PublishedModel(registered_name, version, f"models:/{registered_name}@{CHAMPION_ALIAS}")
