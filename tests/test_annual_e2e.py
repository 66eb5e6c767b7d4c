"""End to end: a refresh with an annual study -> registry -> a new process predicts each scenario."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ANNUAL = "dda-test"
MONTHLY = "ddm-test"
pytestmark = pytest.mark.slow


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


CONFIG = """
mlruns_dir: {tmp}/mlruns
series_catalog: {root}/configs/series.yaml
output_dir: {tmp}/projections
n_jobs: 1
studies:
  - name: ddm
    registered_model: {monthly}
    targets: [digital_mof3.balance]
    models: [naive, seasonal_naive]
    backtest: {{horizon: 6, n_origins: 3}}
annual_studies:
  - name: dda
    registered_model: {annual}
    targets: [digital_mof3.balance, digital_mof3.receipts, digital_mof3.payments]
    supporting_targets: [wdi_ip_charges.payments]
    models:
      - {{name: random_walk, model: local_trend, params: {{level: rwalk}}}}
      - {{name: usd_trend, model: dollar_volume, params: {{base: trend_regression}}, drivers: [usdjpy]}}
      - {{name: usd_trend_ai, model: dollar_volume, params: {{base: trend_regression}}, drivers: [usdjpy, ai_adoption]}}
    backtest: {{horizon: 1, n_origins: 12, supporting_horizon: 3, supporting_n_origins: 4}}
    selection: {{candidates: [usd_trend, usd_trend_ai], min_origins: 5, fallback: usd_trend, sensitivity: [usd_trend_ai]}}
    projection_end: 2030
"""


def refresh_in(tmp: Path) -> subprocess.CompletedProcess:
    """A refresh of CONFIG (one monthly and one annual study) with its store and outputs in ``tmp``."""
    config = tmp / "config.yaml"
    config.write_text(
        textwrap.dedent(CONFIG.format(tmp=tmp, root=ROOT, monthly=MONTHLY, annual=ANNUAL)), encoding="utf-8"
    )
    proc = cli("refresh", "--config", str(config), cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def refreshed(annual_refresh):
    return annual_refresh


def test_refresh_reports_evidence_check_and_registers_the_annual_model(refreshed):
    tmp, proc = refreshed
    assert f"registered {ANNUAL} version 1 as @champion" in proc.stdout
    assert "refit with data through 2024, projection of 2025" in proc.stdout
    assert "oracle (upper bound)" in proc.stdout
    proj = pd.read_csv(tmp / "projections" / "dda.csv", parse_dates=["ds"])
    assert set(proj["scenario"]) == {p.stem for p in (ROOT / "configs" / "scenarios").glob("*.yaml")}
    assert proj.groupby("unique_id")["ds"].max().dt.year.eq(2030).all()
    assert proj.loc[proj["unique_id"] == "digital_mof3.balance", "ds"].min() == pd.Timestamp("2026-01-01")
    assert proj.loc[proj["unique_id"] == "digital_mof3.payments", "ds"].min() == pd.Timestamp("2024-01-01")
    assert (tmp / "projections" / "dda-fan-charts.png").stat().st_size > 10_000
    note = (tmp / "projections" / "dda-backtest-2025.md").read_text(encoding="utf-8")
    assert "-67,000" in note and "-34,810" in note and "| usd_trend | forecast |" in note
    board = pd.read_csv(tmp / "projections" / "dda-leaderboard-exog-modes.csv")
    assert (
        set(board["exog_mode"]) == {"forecast", "oracle"}
        and board.loc[board["exog_mode"] == "oracle", "upper_bound"].all()
    )


def test_pyfunc_takes_the_scenario_as_a_param(refreshed):
    tmp, _ = refreshed
    script = textwrap.dedent(f"""
        import json, mlflow, pandas as pd
        mlflow.set_tracking_uri("sqlite:///{tmp / "mlruns" / "mlflow.db"}")
        m = mlflow.pyfunc.load_model("models:/{ANNUAL}@champion")
        params = [p.name for p in m.metadata.get_params_schema().params]
        df = pd.DataFrame({{"unique_id": "digital_mof3.payments", "ds": pd.date_range("2026-01-01", periods=5, freq="YS")}})
        out = {{"params": params,
               "weak": m.predict(df, params={{"scenario": "yen_weak"}}).to_dict(orient="list"),
               "base": m.predict(df).to_dict(orient="list")}}
        try:
            m.predict(df, params={{"scenario": "yen_crash"}})
        except Exception as exc:
            out["error"] = str(exc)
        mm = mlflow.pyfunc.load_model("models:/{MONTHLY}@champion")
        months = pd.DataFrame({{"ds": pd.date_range("2017-04-01", periods=3, freq="MS")}})
        out["monthly"] = len(mm.predict(months)), len(mm.predict(months, params={{"scenario": "yen_weak"}}))
        out["monthly_params"] = [p.name for p in mm.metadata.get_params_schema().params]
        print(json.dumps(out, default=str))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["params"] == ["scenario"] and out["monthly_params"] == ["scenario"]
    weak, base = pd.DataFrame(out["weak"]), pd.DataFrame(out["base"])
    assert (weak["scenario"] == "yen_weak").all() and (base["scenario"] == "baseline").all()
    assert (weak["yhat"] > base["yhat"]).all()
    saved = pd.read_csv(tmp / "projections" / "dda.csv", parse_dates=["ds"])
    saved = saved[
        (saved["scenario"] == "yen_weak")
        & (saved["unique_id"] == "digital_mof3.payments")
        & (saved["ds"] >= "2026-01-01")
    ]
    assert (weak["yhat"].to_numpy() - saved["yhat"].to_numpy()).__abs__().max() < 1e-6
    assert "unknown scenario 'yen_crash'" in out["error"] and "yen_weak" in out["error"]
    assert out["monthly"] == [3, 3]  # no params and a scenario param both work on the monthly model


def predict_cli(tmp: Path, model: str, *args: str) -> subprocess.CompletedProcess:
    return cli(
        "predict", "--model-uri", f"models:/{model}@champion", "--mlruns-dir", str(tmp / "mlruns"), *args, cwd=tmp
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, expected: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    assert expected in lines[0] and not proc.stdout


def test_predict_cli_projects_every_scenario_asked_for(refreshed):
    tmp, _ = refreshed
    out = tmp / "scenarios.csv"
    proc = predict_cli(
        tmp,
        ANNUAL,
        "--horizon",
        "5",
        "--series",
        "digital_mof3.payments",
        "--scenario",
        "yen_weak",
        "--scenario",
        "baseline",
        "--scenario",
        "yen_strong",
        "--output",
        str(out),
    )
    assert proc.returncode == 0 and not proc.stdout, proc.stderr[-3000:]
    frame = pd.read_csv(out, parse_dates=["ds"])
    assert frame["scenario"].unique().tolist() == ["yen_weak", "baseline", "yen_strong"]  # blocks in the order asked
    wide = frame.pivot(index="ds", columns="scenario", values="yhat")
    assert (
        len(wide) == 5 and (wide["yen_weak"] > wide["baseline"]).all() and (wide["baseline"] > wide["yen_strong"]).all()
    )
    saved = pd.read_csv(tmp / "projections" / "dda.csv", parse_dates=["ds"])
    saved = saved[(saved["unique_id"] == "digital_mof3.payments") & (saved["scenario"] == "yen_weak")].set_index("ds")
    assert (wide["yen_weak"] - saved["yhat"].reindex(wide.index)).abs().max() < 1e-6
    assert not list(tmp.glob(".scenarios.csv.*"))  # the atomic write left no temporary file

    monthly = predict_cli(tmp, MONTHLY, "--horizon", "2", "--scenario", "yen_weak", "--format", "json")
    assert monthly.returncode == 0, monthly.stderr[-3000:]
    rows = json.loads(monthly.stdout)
    assert len(rows) == 2 and {r["scenario"] for r in rows} == {"yen_weak"}  # the monthly model serves them too


def test_predict_cli_refuses_unknown_scenarios_and_models_without_one(refreshed):
    tmp, _ = refreshed
    proc = predict_cli(tmp, ANNUAL, "--scenario", "baseline", "--scenario", "yen_crash", "--output", str(tmp / "x.csv"))
    assert_one_line_error(proc, "unknown scenario 'yen_crash'")
    assert "yen_weak" in proc.stderr and not (tmp / "x.csv").exists()

    # A version whose signature declares no 'scenario' param (as before scenarios were served):
    # MLflow would drop the param with a warning, so the CLI refuses instead of serving the baseline.
    script = textwrap.dedent(f"""
        import mlflow
        from mlflow.models import ModelSignature
        mlflow.set_tracking_uri("sqlite:///{tmp / "mlruns" / "mlflow.db"}")
        path = mlflow.artifacts.download_artifacts("models:/{ANNUAL}@champion")
        old = mlflow.pyfunc.load_model(path).metadata
        with mlflow.start_run():
            logged = mlflow.pyfunc.log_model(
                name="model", python_model="{ROOT / "experiments" / "studies" / "annual" / "pyfunc.py"}",
                artifacts={{"estimators": f"{{path}}/artifacts/estimators.joblib",
                           "scenarios": f"{{path}}/artifacts/scenarios.json"}},
                signature=ModelSignature(inputs=old.get_input_schema(), outputs=old.get_output_schema()),
                metadata=old.metadata)
        mv = mlflow.register_model(logged.model_uri, "noscenario-test")
        mlflow.MlflowClient().set_registered_model_alias("noscenario-test", "champion", mv.version)
    """)
    made = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-3000:]
    assert_one_line_error(predict_cli(tmp, "noscenario-test", "--scenario", "yen_weak"), "takes no scenario")
    assert predict_cli(tmp, "noscenario-test", "--horizon", "2").returncode == 0  # without --scenario it serves


def test_every_scenario_moves_2030_by_what_its_yaml_implies(refreshed):
    """Levers act on the baseline projection (share levers on the baseline payments); the yen on
    the model (dollar volume x USD/JPY); balance = receipts - payments in every scenario."""
    from scenario_arithmetic import balance_change_by_hand

    tmp, _ = refreshed
    proj = pd.read_csv(tmp / "projections" / "dda.csv", parse_dates=["ds"])
    proj = proj[proj["role"] == "selected"]
    at = proj[proj["ds"] == pd.Timestamp("2030-01-01")].set_index(["scenario", "unique_id"])["yhat"]
    base = at.xs("baseline").to_dict()
    for path in sorted((ROOT / "configs" / "scenarios").glob("*.yaml")):
        got = at[(path.stem, "digital_mof3.balance")] - base["digital_mof3.balance"]
        assert got == pytest.approx(balance_change_by_hand(path, 2030, base), abs=1e-6), path.stem
        if path.stem != "baseline":
            assert abs(got) > 100, f"{path.stem} equals the baseline in 2030"
    levers = pd.read_csv(tmp / "projections" / "dda-levers-2030.csv")
    assert set(levers["lever"]) >= {
        "ai_agents",
        "genai_subscriptions",
        "domestic_substitution",
        "price_cuts",
        "adoption_gap",
    }
    assert levers["sources"].str.len().gt(0).all()
