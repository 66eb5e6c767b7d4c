"""End to end through the real CLI: refresh -> registry alias -> a new process predicts.

One small refresh (two targets, a handful of origins) runs once per module against a sqlite
store in a temporary directory; the tests then read what it left behind.
"""

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
MODEL = "dd-test"
pytestmark = pytest.mark.slow


def clean_env() -> dict[str, str]:
    """The environment without any MLflow store settings, so a child uses only what it is told."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "MLFLOW_REGISTRY"))}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def write_config(
    tmp: Path,
    models: str = "[naive, seasonal_naive, drift, ets, theta, ensemble]",
    snapshot_dir: str = "null",
    name: str = "config.yaml",
) -> Path:
    text = f"""
    mlruns_dir: {tmp / "mlruns"}
    series_catalog: {ROOT / "configs" / "series.yaml"}
    snapshot_dir: {snapshot_dir}
    output_dir: {tmp / "projections"}
    n_jobs: 2
    studies:
      - name: dd
        registered_model: {MODEL}
        targets: [digital_proxy.balance, digital_mof3.balance]
        models: {models}
        backtest: {{horizon: 6, n_origins: 4, step: 3}}
        ensemble: {{k: 2, method: median}}
        projection_horizon: 24
    """
    path = tmp / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def registry_state(tmp: Path) -> list[tuple[str, str, dict]]:
    """(model, version, aliases of the model) for every registered version in the test store."""
    from mlflow.tracking import MlflowClient

    db = tmp / "mlruns" / "mlflow.db"
    if not db.exists():
        return []
    client = MlflowClient(tracking_uri=f"sqlite:///{db}", registry_uri=f"sqlite:///{db}")
    state = []
    for m in client.search_registered_models():
        aliases = client.get_registered_model(m.name).aliases
        for v in client.search_model_versions(f"name='{m.name}'"):
            state.append((m.name, str(v.version), {k: str(a) for k, a in aliases.items()}))
    return sorted(state)


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("refresh")
    proc = cli("refresh", "--config", str(write_config(tmp)), cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp, proc


def test_refresh_prints_leaderboard_and_registers_champion(refreshed):
    tmp, proc = refreshed
    for model in ("naive", "seasonal_naive", "drift", "ets", "theta", "ensemble"):
        assert model in proc.stdout
    assert "registered dd-test version 1 as @champion" in proc.stdout
    assert registry_state(tmp) == [(MODEL, "1", {"champion": "1"})]


def test_report_in_a_browser_matches_the_registry_and_mlflow(refreshed, tmp_path):
    """The report as a reader sees it, in headless Chromium (tests/browser.py): no console errors,
    both charts decoded, one leaderboard row per model and target, the champion the registry
    names, and every leaderboard figure equal to the metric logged to MLflow for that run.
    Full-page screenshot: build/screenshots/study-report.png."""
    from browser import assert_reads_cleanly, chromium, open_report, table_after
    from mlflow.tracking import MlflowClient

    from forecast.metrics import reported_metrics

    shown_metrics = reported_metrics()

    tmp, _ = refreshed
    uri = f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    parent = client.get_run(champion.run_id)
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{champion.run_id}'")
    logged = {(c.data.tags["unique_id"], c.data.tags["model"]): c.data.metrics for c in children}
    recipe = json.loads(champion.tags["recipe"])
    report = tmp / "projections" / "dd-report.html"

    with chromium(tmp_path / "profile") as driver:
        page = open_report(driver, report, "study-report")
        assert_reads_cleanly(page, report, min_images=2)  # fan charts, error by horizon
        header = driver.find_element("css selector", "table.meta").text
        assert f"{MODEL} version {champion.version} (@champion)" in header and champion.run_id in header
        champions = {row[0]: row[1] for row in table_after(driver, "Champion per target")}
        assert champions == {uid: spec["model"] for uid, spec in recipe.items()}
        board = table_after(driver, "Leaderboard")

    keys = [(row[0], row[2]) for row in board]
    assert len(keys) == len(set(keys)) == 2 * 6  # targets x models (naive ... ensemble)
    assert set(keys) == set(logged)
    for row in board:
        metrics = logged[(row[0], row[2])]
        for name, shown in zip(shown_metrics, row[3 : 3 + len(shown_metrics)]):
            if shown == "—":
                assert name not in metrics, (row, name)
            else:
                assert float(shown) == pytest.approx(metrics[name], abs=5e-4), (row, name)


def test_report_command_writes_the_refresh_report_again_from_mlflow(refreshed, tmp_path, monkeypatch, capsys):
    """`deficit report` rebuilds the report from the run's logged inputs alone: byte for byte the
    refresh's own file in English, and the same tables with Japanese labels in Japanese."""
    from experiments.cli import main
    from experiments.reports.labels import LABELS

    tmp, _ = refreshed
    again = tmp_path / "again.html"
    proc = cli("report", "--latest", "--study", "dd", "--mlruns-dir", str(tmp / "mlruns"), "-o", str(again), cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert again.read_bytes() == (tmp / "projections" / "dd-report.html").read_bytes()
    run_id = proc.stdout.split("(run ")[1].split(",")[0]
    japanese = tmp_path / "ja.html"
    proc = cli(
        "report", "--run-id", run_id, "--lang", "ja", "--mlruns-dir", str(tmp / "mlruns"), "-o", str(japanese), cwd=tmp
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = japanese.read_text(encoding="utf-8")
    assert '<html lang="ja">' in html and "dd: 更新レポート" in html
    for key in ("champions", "leaderboard", "dm", "residuals", "amounts"):
        assert LABELS["ja"][key] in html and LABELS["en"][key] not in html, key
    assert html.count("data:image/png;base64,") == 3 and run_id in html
    # a wrong run, language or choice of run: one line, exit 2, nothing written
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    bad = tmp_path / "bad.html"
    for args, message in (
        (["--run-id", "0" * 32], "no MLflow run"),
        (["--latest", "--lang", "fr"], "--lang 'fr'"),
        (["--latest", "--run-id", run_id], "one of them"),
        ([], "one of them"),
        (["--latest", "--study", "nope"], "no experiment named 'nope'"),
    ):
        monkeypatch.setattr(
            sys, "argv", ["deficit", "report", *args, "--mlruns-dir", str(tmp / "mlruns"), "-o", str(bad)]
        )
        with pytest.raises(SystemExit) as info:
            main()
        err = capsys.readouterr().err
        assert info.value.code == 2 and message in err and err.count("\n") == 1, (args, err)
    assert not bad.exists()


def test_projections_file_starts_after_last_observation(refreshed):
    tmp, _ = refreshed
    proj = pd.read_csv(tmp / "projections" / "dd.csv", parse_dates=["ds"])
    assert set(proj["unique_id"]) == {"digital_proxy.balance", "digital_mof3.balance"}
    assert (proj.groupby("unique_id")["ds"].min() == pd.Timestamp("2017-04-01")).all()
    assert (proj.groupby("unique_id").size() == 24).all()
    assert (proj["last_observed"] == "2017-03").all()
    assert proj["data_vintage"].notna().all()
    assert not list((tmp / "projections").glob(".*.tmp"))


def test_new_process_loads_champion_and_predicts_every_target(refreshed):
    tmp, _ = refreshed
    script = textwrap.dedent(f"""
        import json, mlflow, pandas as pd
        mlflow.set_tracking_uri("sqlite:///{tmp / "mlruns" / "mlflow.db"}")
        m = mlflow.pyfunc.load_model("models:/{MODEL}@champion")
        targets = m.metadata.metadata["targets"]
        df = pd.concat([pd.DataFrame({{"unique_id": u, "ds": pd.date_range(t["first_forecast"], periods=24, freq="MS")}})
                        for u, t in targets.items()])
        out = m.predict(df)
        print(out.to_json(orient="records", date_format="iso"))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=clean_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = pd.DataFrame(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert list(out.columns) == ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
    assert out.groupby("unique_id").size().to_dict() == {"digital_mof3.balance": 24, "digital_proxy.balance": 24}
    assert (out["yhat_lo_95"] <= out["yhat_lo_80"]).all() and (out["yhat_lo_80"] <= out["yhat"]).all()
    assert (out["yhat"] <= out["yhat_hi_80"]).all() and (out["yhat_hi_80"] <= out["yhat_hi_95"]).all()


def test_predict_cli_matches_projections_file(refreshed):
    tmp, _ = refreshed
    proc = cli(
        "predict",
        "--horizon",
        "24",
        "--model-uri",
        f"models:/{MODEL}@champion",
        "--mlruns-dir",
        str(tmp / "mlruns"),
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    from io import StringIO

    printed = pd.read_csv(StringIO(proc.stdout), parse_dates=["ds"])
    saved = pd.read_csv(tmp / "projections" / "dd.csv", parse_dates=["ds"])
    merged = printed.merge(saved, on=["unique_id", "ds"], suffixes=("", "_saved"))
    assert len(merged) == 48
    for col in ("yhat", "yhat_lo_95", "yhat_hi_95"):
        assert (merged[col] - merged[f"{col}_saved"]).abs().max() < 1e-6

    as_json = cli(
        "predict",
        "--horizon",
        "3",
        "--format",
        "json",
        "--series",
        "digital_mof3.balance",
        "--model-uri",
        f"models:/{MODEL}@champion",
        "--mlruns-dir",
        str(tmp / "mlruns"),
        cwd=tmp,
    )
    assert as_json.returncode == 0, as_json.stderr[-2000:]
    records = json.loads(as_json.stdout)
    assert [r["ds"][:7] for r in records] == ["2017-04", "2017-05", "2017-06"]


def assert_one_line_failure(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def test_bad_inputs_fail_in_one_line_and_change_nothing(refreshed):
    tmp, _ = refreshed
    before = registry_state(tmp)
    stamp = (tmp / "projections" / "dd.csv").stat().st_mtime_ns

    assert_one_line_failure(cli("refresh", "--config", str(tmp / "missing.yaml"), cwd=tmp), "config file not found")

    bad_model = write_config(tmp, models="[naive, prophet_xl]", name="bad_model.yaml")
    assert_one_line_failure(cli("refresh", "--config", str(bad_model), cwd=tmp), "unknown model 'prophet_xl'")

    snap = tmp / "bad_snapshot"
    src = ROOT / "features" / "data" / "snapshot"
    snap.mkdir()
    for f in src.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    monthly = next(snap.glob("boj_services_monthly*.csv"))
    lines = monthly.read_text(encoding="utf-8").splitlines()
    parts = lines[5].split(",")
    parts[3] = "12x4"  # a non-numeric figure in the value column
    lines[5] = ",".join(parts)
    monthly.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad_data = write_config(tmp, snapshot_dir=str(snap), name="bad_data.yaml")
    assert_one_line_failure(cli("refresh", "--config", str(bad_data), cwd=tmp), monthly.name)

    assert registry_state(tmp) == before
    assert (tmp / "projections" / "dd.csv").stat().st_mtime_ns == stamp


def test_unknown_series_in_predict_is_one_line(refreshed):
    tmp, _ = refreshed
    proc = cli(
        "predict",
        "--series",
        "nope.balance",
        "--model-uri",
        f"models:/{MODEL}@champion",
        "--mlruns-dir",
        str(tmp / "mlruns"),
        cwd=tmp,
    )
    assert_one_line_failure(proc, "unknown series 'nope.balance'")


def test_html_report_is_written_and_logged(refreshed):
    tmp, proc = refreshed
    report = tmp / "projections" / "dd-report.html"
    html = report.read_text(encoding="utf-8")
    assert "dd: refresh report" in html and "Champion per target" in html
    assert html.count("data:image/png;base64,") == 3  # fan charts, error by horizon, residual ACF
    for section in ("Projected amounts", "Diebold-Mariano", "Champion residual diagnostics"):
        assert section in html
    for uid in ("digital_proxy.balance", "digital_mof3.balance"):
        assert uid in html
    assert "report: " in proc.stdout
