"""Child runs: one per (target, model), with its parameters, metrics and backtest table."""

from __future__ import annotations

import time

import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from forecast.metrics import by_horizon_metrics, metric_names


def _finite(value) -> bool:
    return value is not None and pd.notna(value)


def log_child_runs(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    forecasts: pd.DataFrame,
    metrics: pd.DataFrame,
    metrics_by_h: pd.DataFrame,
    model_params: dict[str, dict],
    champions: dict[str, str],
) -> dict[tuple[str, str], str]:
    """Create the child runs, one per (target, model) row of ``metrics`` (the leaderboard: figures
    on the folds the comparable models share); return their ids by (unique_id, model).

    Uses the client's batch calls rather than the fluent API: 60+ runs per refresh, and one
    ``log_batch`` per run keeps the tracking-store round trips to a handful each.
    """
    run_ids: dict[tuple[str, str], str] = {}
    now = int(time.time() * 1000)
    logged, per_step = metric_names(), by_horizon_metrics()
    for row in metrics.itertuples(index=False):
        uid, model = row.unique_id, row.model
        run = client.create_run(
            experiment_id,
            run_name=f"{uid}/{model}",
            tags={
                MLFLOW_PARENT_RUN_ID: parent_run_id,
                "unique_id": uid,
                "model": model,
                "champion": str(champions.get(uid) == model).lower(),
            },
        )
        params = [Param("model", model), Param("unique_id", uid)]
        params += [Param(k, str(v)) for k, v in sorted(model_params.get(model, {}).items())]
        values = [Metric(m, float(getattr(row, m)), now, 0) for m in logged if _finite(getattr(row, m))]
        by_h = metrics_by_h[(metrics_by_h["unique_id"] == uid) & (metrics_by_h["model"] == model)]
        for h_row in by_h.itertuples(index=False):
            for m in per_step:
                if _finite(getattr(h_row, m)):
                    values.append(Metric(f"{m}_by_h", float(getattr(h_row, m)), now, int(h_row.h)))
        client.log_batch(
            run.info.run_id,
            metrics=values,
            params=params,
            tags=[RunTag("mlflow.note.content", f"backtest of {model} on {uid}")],
        )
        table = forecasts[(forecasts["unique_id"] == uid) & (forecasts["model"] == model)]
        client.log_text(run.info.run_id, table.to_csv(index=False), "backtest.csv")
        client.set_terminated(run.info.run_id)
        run_ids[(uid, model)] = run.info.run_id
    return run_ids
