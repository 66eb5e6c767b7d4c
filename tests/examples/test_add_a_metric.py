"""Worked example: a new metric is one row of ``forecast.metrics.BACKTEST_METRICS``.

To add MAPE for real, paste the ``MAPE`` row below into the table in ``forecast/metrics.py``
(about 5 lines) and keep this test. Everything else reads the table when it runs: the engine's
metric columns, the leaderboard (rank by it), the Diebold-Mariano matrix, the study configs'
``metric`` choice, the MLflow child runs (overall and per step) and the HTML leaderboards.
Here the row is added for the test only, so the shipped outputs do not change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import metrics
from forecast.metrics import BacktestMetric


def _ape(points: pd.DataFrame) -> np.ndarray:
    y, yhat = points["y"].to_numpy(dtype=float), points["mean"].to_numpy(dtype=float)
    return 100 * np.abs(y - yhat) / np.where(y != 0, np.abs(y), np.nan)


MAPE = BacktestMetric(
    "mape",
    "mean absolute percentage error, 0-100+ scale",
    score=lambda p: float(np.nanmean(_ape(p))),
    pointwise=_ape,
    by_horizon=True,
)


@pytest.fixture
def with_mape(monkeypatch):
    monkeypatch.setattr(metrics, "BACKTEST_METRICS", (*metrics.BACKTEST_METRICS, MAPE))


@pytest.fixture
def backtest(with_mape, monthly_series):
    from forecast.backtest import BacktestSettings, cross_validate
    from forecast.models.registry import make_model

    panel = pd.DataFrame({"unique_id": "s", "ds": monthly_series.index, "y": monthly_series.to_numpy()})
    models = {name: make_model(name, 12) for name in ("naive", "seasonal_naive")}
    return cross_validate(panel, models, BacktestSettings(horizon=3, n_origins=6, season_length=12))


def test_the_engine_and_leaderboard_score_and_rank_by_the_new_row(backtest):
    from forecast.backtest import leaderboard

    table = backtest.metrics()
    assert "mape" in table.columns
    for model, points in backtest.forecasts.groupby("model"):
        expected = np.mean(100 * np.abs(points["y"] - points["mean"]) / points["y"].abs())
        assert table.set_index("model").loc[model, "mape"] == pytest.approx(expected, rel=1e-12)
    board = leaderboard(backtest, metric="mape")
    assert list(board["mape"]) == sorted(board["mape"])


def test_the_diebold_mariano_matrix_tests_the_new_loss(backtest):
    from forecast.comparison import dm_matrix

    dm = dm_matrix(backtest.forecasts, "mape", horizon=3)
    assert len(dm) == 2 and dm["p_value"].between(0, 1).all()


def test_configs_accept_the_new_metric_and_name_it_when_refusing_a_typo(with_mape, tmp_path):
    from experiments.config import load_config
    from features.errors import ConfigError

    text = (
        "studies:\n  - name: s\n    registered_model: m\n    targets: [digital_proxy.balance]\n"
        "    models: [naive, seasonal_naive]\n    backtest: {{metric: {}}}\n"
    )
    (tmp_path / "ok.yaml").write_text(text.format("mape"))
    config, _ = load_config(tmp_path / "ok.yaml", base=tmp_path)
    assert config.studies[0].backtest.metric == "mape"
    (tmp_path / "typo.yaml").write_text(text.format("mapx"))
    with pytest.raises(ConfigError, match="cannot rank by 'mapx'.*mape"):
        load_config(tmp_path / "typo.yaml", base=tmp_path)


def test_run_logging_and_the_html_leaderboards_carry_the_new_metric(backtest, tmp_path):
    from mlflow.tracking import MlflowClient

    from experiments.tracking.runs import log_child_runs
    from experiments.tracking.store import ensure_experiment
    from forecast.backtest import leaderboard

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # no process-wide URI left behind
    experiment = ensure_experiment(client, "example", uri, tmp_path)
    parent = client.create_run(experiment)
    board = leaderboard(backtest)
    run_ids = log_child_runs(
        client,
        experiment,
        parent.info.run_id,
        backtest.forecasts,
        board,
        backtest.metrics_by_horizon(),
        {},
        {"s": "naive"},
    )
    run = client.get_run(run_ids[("s", "naive")])
    assert run.data.metrics["mape"] == pytest.approx(board.set_index("model").loc["naive", "mape"])
    steps = client.get_metric_history(run.info.run_id, "mape_by_h")
    assert sorted(m.step for m in steps) == [1, 2, 3]
    assert "mape" in metrics.reported_metrics()  # the study and annual leaderboards' columns
