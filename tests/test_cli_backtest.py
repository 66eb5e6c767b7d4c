"""``deficit backtest`` on a bring-your-own panel: outputs, competition-style windows, input errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.cli.backtest import OUTPUT_COLUMNS, backtest, read_panel
from features.errors import DataValidationError
from forecast.backtest.engine import metric_columns
from forecast.errors import UnknownModelError

ROOT = Path(__file__).resolve().parents[1]


def _write_panel(path: Path, freq: str = "MS", exog: bool = False) -> Path:
    rng = np.random.default_rng(0)
    frames = []
    for uid, n in (("a", 60), ("b", 40), ("tiny", 8)):
        t = np.arange(n)
        frame = pd.DataFrame(
            {
                "unique_id": uid,
                "ds": pd.date_range("2010-01-01", periods=n, freq=freq),
                "y": 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n),
            }
        )
        if exog:
            frame["x"] = rng.normal(0, 1, n)
        frames.append(frame)
    pd.concat(frames).to_csv(path, index=False)
    return path


def _run(data: Path, output: Path, **options) -> None:
    args = {
        "freq": "MS",
        "horizon": 6,
        "origins": 1,
        "step": 1,
        "models": "naive,seasonal_naive",
        "n_jobs": 1,
        "refit_every": 1,
        "warm_start": False,
        "origins_per_task": 12,
        "scheduler_address": None,
        "local_cluster": False,
        "select_k": None,
        **options,
    }
    backtest(data=data, output=output, **args)


@pytest.mark.slow
def test_subprocess_writes_forecasts_metrics_and_skips(tmp_path):
    data = _write_panel(tmp_path / "panel.csv")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.cli",
            "backtest",
            "--data",
            str(data),
            "--freq",
            "MS",
            "--horizon",
            "6",
            "--origins",
            "3",
            "--step",
            "2",
            "--models",
            "seasonal_naive,theta",
            "--n-jobs",
            "2",
            "--output",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    forecasts = pd.read_csv(out / "forecasts.csv", parse_dates=["cutoff", "ds"])
    assert list(forecasts.columns) == OUTPUT_COLUMNS
    assert forecasts.groupby(["unique_id", "model"]).size().to_dict() == {
        (uid, m): 18 for uid in ("a", "b") for m in ("seasonal_naive", "theta", "auto")
    }
    assert forecasts.groupby("unique_id")["cutoff"].nunique().to_dict() == {"a": 3, "b": 3}
    metrics = pd.read_csv(out / "metrics.csv")
    # the two models and the automatic choice between them (auto_mean needs the prior's members)
    assert list(metrics.columns) == ["unique_id", "model", *metric_columns()] and len(metrics) == 6
    assert set(metrics["model"]) == {"seasonal_naive", "theta", "auto"}
    skipped = pd.read_csv(out / "skipped.csv")
    assert set(skipped["unique_id"]) == {"tiny"} and skipped["reason"].str.contains("too short").all()
    assert "seasonal_naive" in proc.stdout


def test_single_origin_scores_the_last_h_observations(tmp_path):
    data = _write_panel(tmp_path / "panel.csv", exog=True)
    _run(data, tmp_path / "out", horizon=6, origins=1)
    forecasts = pd.read_csv(tmp_path / "out" / "forecasts.csv", parse_dates=["cutoff", "ds"])
    panel = pd.read_csv(data, parse_dates=["ds"])
    for uid in ("a", "b"):
        rows = forecasts[(forecasts["unique_id"] == uid) & (forecasts["model"] == "naive")]
        last = panel[panel["unique_id"] == uid].tail(6)
        assert rows["ds"].tolist() == last["ds"].tolist()
        np.testing.assert_allclose(rows["y"], last["y"])
        assert (rows["yhat"] == panel[panel["unique_id"] == uid]["y"].iloc[-7]).all()  # naive: last training value


def test_honest_selection_adds_select_models(tmp_path):
    data = _write_panel(tmp_path / "panel.csv")
    base = ["naive", "seasonal_naive", "drift"]
    _run(data, tmp_path / "out", horizon=3, origins=3, step=3, models=",".join(base), select_k=[1, 2])
    forecasts = pd.read_csv(tmp_path / "out" / "forecasts.csv")
    assert {"select_1", "select_2"} <= set(pd.read_csv(tmp_path / "out" / "metrics.csv")["model"])
    # at the last origin of "a", select_1 repeats one base model's forecast (the best known by then)
    last = forecasts[(forecasts["unique_id"] == "a") & (forecasts["cutoff"] == forecasts["cutoff"].max())]
    chosen = last[last["model"] == "select_1"]["yhat"].to_numpy()
    assert any(np.allclose(chosen, last[last["model"] == m]["yhat"].to_numpy()) for m in base)


def test_quarterly_panel(tmp_path):
    data = _write_panel(tmp_path / "panel.csv", freq="QS")
    _run(data, tmp_path / "out", freq="QS", horizon=4, origins=2)
    forecasts = pd.read_csv(tmp_path / "out" / "forecasts.csv", parse_dates=["ds"])
    assert forecasts["ds"].dt.month.isin([1, 4, 7, 10]).all() and len(forecasts) > 0


@pytest.mark.parametrize(
    "content, message",
    [
        ('unique_id,ds,y\na,2020-01-01,"1\n', "not a readable CSV"),
        ("", "not a readable CSV"),
        ("series,ds,value\na,2020-01-01,1\n", "missing column(s) unique_id, y"),
        ("unique_id,ds,y\na,someday,1\n", "not ISO 8601 dates"),
        ("unique_id,ds,y\na,2020-01-01,1\na,2020-02-01,n/a?\n", "row 3: column y: 'n/a?' is not a number"),
        ("unique_id,ds,y\nc,d,2000-01-01,100.0\n", "a row has more cells than the header"),
        ("unique_id,ds,y\na,,1\n", "row 2: ds is empty"),
        ("unique_id,ds,y\na,0000-01-01,1\n", "row 2: ds 0000-01-01 is outside 1800-2200"),
        ("unique_id,ds,y\na,2020-01-15,1\n", "row 2: ds 2020-01-15 is not a MS period start"),
        ("unique_id,ds,y\na,2020-01-01,1\na,2020-01-01,2\n", "row 3: series 'a' repeats ds 2020-01-01"),
    ],
)
def test_bad_panels_are_rejected_with_one_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataValidationError) as info:
        read_panel(path, "MS")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_arguments_exit_2_with_one_line_and_write_nothing(tmp_path, monkeypatch, capsys):
    data = _write_panel(tmp_path / "panel.csv")
    out = tmp_path / "out"
    cases = [
        (["--freq", "WS", "--horizon", "3"], "--freq 'WS' is not one of MS, QS, YS"),
        (["--freq", "MS", "--horizon", "3", "--models", "ets,arima"], "unknown model 'arima'"),
        (["--freq", "MS", "--horizon", "0"], "--horizon"),
        (["--freq", "MS"], "Missing option '--horizon'"),
    ]
    for extra, message in cases:
        monkeypatch.setattr(sys, "argv", ["deficit", "backtest", "--data", str(data), "--output", str(out), *extra])
        with pytest.raises(SystemExit) as info:
            main()
        err = capsys.readouterr().err
        assert info.value.code == 2 and message in err and err.count("\n") == 1
    assert not out.exists()
    with pytest.raises(UnknownModelError):
        _run(data, out, models="ets,arima")


def test_declared_combinations_are_added_and_checked(tmp_path):
    data = _write_panel(tmp_path / "panel.csv")
    base = ["naive", "seasonal_naive", "drift"]
    _run(
        data,
        tmp_path / "out",
        horizon=3,
        origins=2,
        step=3,
        models=",".join(base),
        combine=["avg=mean:naive,drift", "mid=median:naive,seasonal_naive,drift"],
    )
    forecasts = pd.read_csv(tmp_path / "out" / "forecasts.csv")
    keys = ["unique_id", "cutoff", "ds"]
    wide = forecasts.pivot_table(index=keys, columns="model", values="yhat")
    np.testing.assert_allclose(wide["avg"], (wide["naive"] + wide["drift"]) / 2, rtol=1e-12)
    # "tiny" is too short for seasonal_naive: no combination there rather than a median of two
    complete = wide[base].notna().all(axis=1)
    assert wide.loc[~complete, "mid"].isna().all() and (~complete).any()
    np.testing.assert_allclose(wide.loc[complete, "mid"], wide.loc[complete, base].median(axis=1), rtol=1e-12)
    assert {"avg", "mid"} <= set(pd.read_csv(tmp_path / "out" / "metrics.csv")["model"])
    for spec, message in (
        ("avg=max:naive,drift", "expected NAME=METHOD"),
        ("avg=mean:naive", "expected NAME=METHOD"),
        ("avg=mean:naive,theta", "theta not in --models"),
        ("naive=mean:naive,drift", "already a model"),
    ):
        with pytest.raises(DataValidationError, match=message):
            _run(data, tmp_path / "bad", models=",".join(base), combine=[spec])
    assert not (tmp_path / "bad").exists()


def test_defaults_run_the_automatic_models_and_report_the_automatic_choice(tmp_path):
    from experiments.cli.backtest import DEFAULT_MODELS
    from forecast.backtest.ensemble import AUTOMATIC_PRIOR

    assert set(AUTOMATIC_PRIOR) <= set(DEFAULT_MODELS.split(","))  # the prior is real with the defaults
    data = _write_panel(tmp_path / "panel.csv")
    _run(data, tmp_path / "out", horizon=4, origins=3, step=2, models=DEFAULT_MODELS)
    forecasts = pd.read_csv(tmp_path / "out" / "forecasts.csv", parse_dates=["cutoff"])
    assert {"auto", "auto_mean", *DEFAULT_MODELS.split(",")} <= set(
        pd.read_csv(tmp_path / "out" / "metrics.csv")["model"]
    )
    wide = forecasts.pivot_table(index=["unique_id", "cutoff", "ds"], columns="model", values="yhat")
    np.testing.assert_allclose(wide["auto_mean"], wide[list(AUTOMATIC_PRIOR)].mean(axis=1), rtol=1e-12)
    first = wide.index.get_level_values("cutoff") == wide.index.get_level_values("cutoff").min()
    np.testing.assert_allclose(wide.loc[first, "auto"], wide.loc[first, "auto_mean"], rtol=1e-12)  # nothing known yet
    # later: one candidate's forecast, whole fold (a single model or the prior, never a blend)
    candidates = [c for c in wide.columns if c != "auto"]
    for (uid, cutoff), fold in wide[~first].groupby(level=["unique_id", "cutoff"]):
        assert any(np.allclose(fold["auto"], fold[c]) for c in candidates), (uid, cutoff)
    # --no-auto leaves them out; their names cannot be taken by a declared combination
    _run(data, tmp_path / "plain", horizon=4, origins=2, models="naive,drift", auto=False)
    assert set(pd.read_csv(tmp_path / "plain" / "metrics.csv")["model"]) == {"naive", "drift"}
    with pytest.raises(DataValidationError, match="already a model name"):
        _run(data, tmp_path / "bad", models="naive,drift", combine=["auto=mean:naive,drift"])
