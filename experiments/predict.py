"""``deficit predict``: load a registered model and ask it for the next N periods of every series."""

from __future__ import annotations

from pathlib import Path

import experiments.runtime  # noqa: F401
import mlflow
import pandas as pd

from experiments.projection import period_label
from experiments.tracking import resolve_tracking_uri, use_tracking
from features.errors import DeficitError


def forecast_request(meta: dict, horizon: int, series: list[str] | None = None) -> pd.DataFrame:
    """The ``horizon`` periods after each target's last observation, as a pyfunc input frame."""
    targets = meta["targets"]
    wanted = series or list(targets)
    unknown = [s for s in wanted if s not in targets]
    if unknown:
        raise DeficitError(f"unknown series '{unknown[0]}'; the model knows: {', '.join(targets)}")
    frames = [
        pd.DataFrame({"unique_id": uid, "ds": pd.date_range(targets[uid]["first_forecast"], periods=horizon, freq=meta["freq"])})
        for uid in wanted
    ]
    return pd.concat(frames, ignore_index=True)


def load_and_predict(model_uri: str, horizon: int, series: list[str] | None, mlruns_dir: Path) -> pd.DataFrame:
    use_tracking(resolve_tracking_uri(None, mlruns_dir))
    model = mlflow.pyfunc.load_model(model_uri)
    meta = model.metadata.metadata or {}
    if "targets" not in meta:
        raise DeficitError(f"{model_uri} is not a digital-deficit forecasting model (no target metadata)")
    out = model.predict(forecast_request(meta, horizon, series))
    out["last_observed"] = out["unique_id"].map(
        {u: period_label(t["last_observed"], meta["freq"]) for u, t in meta["targets"].items()}
    )
    out["data_vintage"] = meta.get("data_vintage")
    return out
