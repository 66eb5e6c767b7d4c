"""Executors: joblib processes and a real 2-worker Dask LocalCluster give identical backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import BacktestSettings, cross_validate
from forecast.backtest.executors import DaskExecutor, JoblibExecutor, make_executor
from forecast.models.registry import make_model


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frames = []
    for uid, n in (("long", 72), ("gappy", 60), ("short", 20)):
        t = np.arange(n)
        y = 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2010-01-01", periods=n, freq="MS"), "y": y}))
    panel = pd.concat(frames, ignore_index=True)
    panel.loc[(panel["unique_id"] == "gappy") & (panel.index % 60 == 50), "y"] = np.nan
    return panel


def _backtest(executor):
    models = {name: make_model(name, 12) for name in ("ets", "theta", "seasonal_naive")}
    settings = BacktestSettings(horizon=6, n_origins=6, refit_every=2, warm_start=True, origins_per_task=2)
    seen = []
    result = cross_validate(_panel(), models, settings, executor=executor, progress=lambda d, t: seen.append((d, t)))
    return result, seen


@pytest.mark.slow
def test_joblib_and_a_two_worker_dask_local_cluster_give_identical_results():
    serial, seen = _backtest(JoblibExecutor(1))
    assert not serial.forecasts.empty and not serial.skipped.empty  # "short" and "gappy" skip some
    assert seen[-1][0] == seen[-1][1] and len(seen) == seen[-1][1]
    for executor in (JoblibExecutor(2), DaskExecutor(n_workers=2)):
        other, seen = _backtest(executor)
        pd.testing.assert_frame_equal(serial.forecasts, other.forecasts, check_exact=True)
        pd.testing.assert_frame_equal(serial.skipped, other.skipped, check_exact=True)
        assert sorted(seen) == seen and seen[-1] == (len(seen), len(seen))


def test_make_executor_picks_the_backend():
    assert make_executor(3) == JoblibExecutor(3)
    assert make_executor(2, dask=True) == DaskExecutor(None, 2)
    assert make_executor(1, scheduler_address="tcp://10.0.0.5:8786") == DaskExecutor("tcp://10.0.0.5:8786", 1)


@pytest.mark.slow
def test_dask_executor_runs_on_an_existing_scheduler_address():
    from distributed import LocalCluster

    panel = _panel()
    models = {"naive": make_model("naive", 12), "seasonal_naive": make_model("seasonal_naive", 12)}
    settings = BacktestSettings(horizon=3, n_origins=4, origins_per_task=2)
    expected = cross_validate(panel, models, settings)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        remote = cross_validate(
            panel, models, settings, executor=DaskExecutor(scheduler_address=cluster.scheduler_address)
        )
    pd.testing.assert_frame_equal(expected.forecasts, remote.forecasts, check_exact=True)
