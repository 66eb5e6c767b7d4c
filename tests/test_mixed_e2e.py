"""End to end on the bundled data: a refresh with the mixed-frequency study -> registry -> a new
process predicts from the present; the published paths keep every published total and identity."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scenario_arithmetic import balance_change_by_hand

ROOT = Path(__file__).resolve().parents[1]
NAME = "digital-deficit-monthly-now"  # the default model of `deficit predict`
TARGETS = ["digital_mof3.balance", "digital_mof3.receipts", "digital_mof3.payments"]
pytestmark = pytest.mark.slow


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _config(tmp: Path) -> Path:
    default = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))
    mixed = default["mixed_frequency_studies"][0]
    config = {
        "mlruns_dir": str(tmp / "mlruns"),
        "series_catalog": str(ROOT / "configs" / "series.yaml"),
        "output_dir": str(tmp / "projections"),
        "n_jobs": 2,
        "studies": [
            {
                "name": "ddm",
                "registered_model": "ddm-test",
                "targets": ["digital_mof3.balance"],
                "models": ["naive", "seasonal_naive"],
                "backtest": {"horizon": 6, "n_origins": 3},
            }
        ],
        "mixed_frequency_studies": [mixed],
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixed")
    proc = cli("refresh", "--config", str(_config(tmp)), cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = pd.read_csv(tmp / "projections" / f"{NAME}.csv", parse_dates=["ds"])
    return tmp, proc, paths


def test_paths_run_from_the_published_months_through_estimates_to_forecasts(refreshed):
    _, proc, paths = refreshed
    assert "10 of 10 published totals reproduced within their rounding" in proc.stdout
    base = paths[paths["scenario"] == "baseline"]
    for uid in TARGETS:
        rows = base[base["unique_id"] == uid].set_index("ds")
        spans = rows.groupby("kind").apply(lambda g: (g.index.min(), g.index.max()))
        assert spans["published"] == (pd.Timestamp("2014-01-01"), pd.Timestamp("2017-03-01"))
        assert spans["estimate"] == (pd.Timestamp("2017-04-01"), pd.Timestamp("2025-12-01"))
        assert spans["forecast"] == (pd.Timestamp("2026-01-01"), pd.Timestamp("2030-12-01"))
        assert rows.index.is_monotonic_increasing and len(rows) == 17 * 12
        free = rows[rows["kind"] != "published"]
        assert (free["yhat_lo_95"] < free["yhat_lo_80"]).all() and (free["yhat_lo_80"] < free["yhat"]).all()
        assert (free["yhat"] < free["yhat_hi_80"]).all() and (free["yhat_hi_80"] < free["yhat_hi_95"]).all()
        published = rows[rows["kind"] == "published"]
        assert (published["yhat_lo_95"] == published["yhat"]).all() and (
            published["source"] == "BOJ_BP_M_JP_2017"
        ).all()


def test_every_published_total_is_the_sum_of_its_months(refreshed):
    """Recomputed here from the snapshot's figures, independently of the study's own check table."""
    from experiments.studies.mixed.figures import figure_windows
    from features.annual import load_annual_catalog
    from features.series import load_catalog
    from features.snapshot import load_snapshot

    _, _, paths = refreshed
    snapshot = load_snapshot()
    catalog = load_annual_catalog(None, load_catalog(ROOT / "configs" / "series.yaml"))
    base = paths[paths["scenario"] == "baseline"]
    checked = 0
    for uid in TARGETS:
        path = base[base["unique_id"] == uid].set_index("ds")["yhat"]
        totals = figure_windows(snapshot, catalog, uid)
        for _, w in totals[totals["months"] > 1].iterrows():
            months = pd.date_range(w["start"], periods=int(w["months"]), freq="MS")
            half_step = w["sd"] * np.sqrt(12) / 2
            assert abs(path.reindex(months).sum() - w["value"]) <= max(half_step, 0.5), (uid, w["label"])
            checked += 1
    # 2022-2025 balance (A, H, FY, FH, YTD) and the 2023 receipts and payments
    assert checked == 10


def test_balance_is_receipts_minus_payments_in_every_month_of_every_scenario(refreshed):
    _, _, paths = refreshed
    for scenario, rows in paths.groupby("scenario"):
        wide = rows[rows["kind"] != "published"].pivot(index="ds", columns="unique_id", values="yhat")
        gap = wide["digital_mof3.balance"] - (wide["digital_mof3.receipts"] - wide["digital_mof3.payments"])
        assert gap.abs().max() < 1e-6, scenario


def test_scenarios_change_forecasts_only_and_by_their_stated_amounts(refreshed):
    _, _, paths = refreshed
    assert set(paths["scenario"]) == {p.stem for p in (ROOT / "configs" / "scenarios").glob("*.yaml")}
    key = ["unique_id", "ds"]
    base = paths[paths["scenario"] == "baseline"].set_index(key)
    weak = paths[paths["scenario"] == "yen_weak"].set_index(key)
    subs = paths[paths["scenario"] == "genai_subscriptions"].set_index(key)
    past = base["kind"] != "forecast"
    assert np.allclose(weak.loc[past, "yhat"], base.loc[past, "yhat"])
    assert np.allclose(weak.loc[~past, "yhat"], 1.15 * base.loc[~past, "yhat"])
    # 30M users x 3,000 yen a month = 900 億円 a month at full ramp (2029-), 25% of it in 2026
    pay = (subs["yhat"] - base["yhat"]).xs("digital_mof3.payments")
    assert pay.loc["2026-01-01"] == pytest.approx(225.0) and pay.loc["2030-12-01"] == pytest.approx(900.0)
    assert pay.loc[:"2025-12-01"].abs().max() == 0
    bal = (subs["yhat"] - base["yhat"]).xs("digital_mof3.balance")
    assert bal.loc["2030-12-01"] == pytest.approx(-900.0)


def test_predict_starts_from_the_present_by_default_and_serves_the_published_paths(refreshed):
    tmp, _, paths = refreshed
    proc = cli("predict", "--horizon", "12", "--mlruns-dir", str(tmp / "mlruns"), cwd=tmp)  # default model URI
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = pd.read_csv(StringIO(proc.stdout), parse_dates=["ds"])
    assert set(served["unique_id"]) == set(TARGETS)
    assert served.groupby("unique_id")["ds"].min().eq(pd.Timestamp("2026-01-01")).all()
    assert served.groupby("unique_id")["ds"].max().eq(pd.Timestamp("2026-12-01")).all()
    assert (served["kind"] == "forecast").all() and (served["last_observed"] == "2025-12").all()
    expected = paths[paths["scenario"] == "baseline"].set_index(["unique_id", "ds"])["yhat"]
    got = served.set_index(["unique_id", "ds"])["yhat"]
    np.testing.assert_allclose(got.to_numpy(), expected.reindex(got.index).to_numpy(), rtol=1e-9)

    weak = cli(
        "predict",
        "--horizon",
        "3",
        "--scenario",
        "yen_weak",
        "--series",
        "digital_mof3.payments",
        "--mlruns-dir",
        str(tmp / "mlruns"),
        cwd=tmp,
    )
    assert weak.returncode == 0, weak.stderr[-2000:]
    rows = pd.read_csv(StringIO(weak.stdout), parse_dates=["ds"])
    expected = paths[(paths["scenario"] == "yen_weak")].set_index(["unique_id", "ds"])["yhat"]
    np.testing.assert_allclose(rows["yhat"], expected.reindex(pd.MultiIndex.from_frame(rows[["unique_id", "ds"]])))

    bad = cli("predict", "--scenario", "nope", "--mlruns-dir", str(tmp / "mlruns"), cwd=tmp)
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown scenario 'nope'")
    assert "Traceback" not in bad.stderr


def test_the_pyfunc_answers_estimates_and_refuses_months_it_does_not_hold(refreshed):
    import mlflow

    from experiments.studies.monthly.projection import ProjectionRequestError

    tmp, _, paths = refreshed
    uri = f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)  # another test of the session may have set a registry of its own
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    out = model.predict(pd.DataFrame({"ds": pd.to_datetime(["2020-06-01", "2014-03-01"])}))
    assert set(out["unique_id"]) == set(TARGETS)
    assert list(out.loc[out["ds"] == "2020-06-01", "kind"].unique()) == ["estimate"]
    assert list(out.loc[out["ds"] == "2014-03-01", "kind"].unique()) == ["published"]
    with pytest.raises(ProjectionRequestError, match="2031-01"):
        model.predict(pd.DataFrame({"unique_id": ["digital_mof3.balance"], "ds": pd.to_datetime(["2031-01-01"])}))


def test_report_shows_each_kind_of_figure_and_the_evidence(refreshed):
    tmp, _, _ = refreshed
    html = (tmp / "projections" / f"{NAME}-report.html").read_text(encoding="utf-8")
    for text in (
        "Where each figure came from",
        "Evidence 1: rebuilding hidden months",
        "validation MASE",
        "Evidence 2: one year ahead from each origin",
        "Evidence 3: interval coverage",
        "data:image/png;base64,",
        "BOP_JIJI_2025H1",
        "2014-01..2017-03 (39)",
    ):
        assert text in html, text


def test_a_second_refresh_on_the_same_data_registers_nothing(refreshed):
    tmp, _, _ = refreshed
    proc = cli("refresh", "--config", str(tmp / "config.yaml"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{NAME}: data and study settings unchanged since {NAME} version 1; nothing to do" in proc.stdout


def test_every_scenario_moves_2030_by_what_its_yaml_implies(refreshed):
    _, _, paths = refreshed
    in_2030 = paths[paths["ds"].dt.year == 2030].groupby(["scenario", "unique_id"])["yhat"].sum()
    base = in_2030.xs("baseline").to_dict()
    for path in sorted((ROOT / "configs" / "scenarios").glob("*.yaml")):
        expected = balance_change_by_hand(path, 2030, base)
        got = in_2030[(path.stem, "digital_mof3.balance")] - base["digital_mof3.balance"]
        assert got == pytest.approx(expected, abs=1e-6), path.stem
        if path.stem != "baseline":
            assert abs(got) > 100, f"{path.stem} equals the baseline in 2030"


def test_report_reads_cleanly_in_a_browser(refreshed, tmp_path):
    """In headless Chromium: no console errors, the paths chart decoded, the registered version
    named; screenshot in build/screenshots/mixed-report.png."""
    from browser import assert_reads_cleanly, chromium, open_report

    tmp, _, _ = refreshed
    path = tmp / "projections" / f"{NAME}-report.html"
    with chromium(tmp_path / "profile") as driver:
        page = open_report(driver, path, "mixed-report")
        assert_reads_cleanly(page, path, min_images=1)
        assert NAME in driver.find_element("tag name", "body").text
