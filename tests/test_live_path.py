"""The live path (issue 10, item 4): BOJ figures to month M -> refresh backtests on them and
projects from M+1, with no config change.

The 127.0.0.1 stand-in serves BP01 and FM08 getDataCode answers in the documented layout whose
history runs to 2026-07 (tests/boj_history_fixture.py): the REAL services total BPBP6JYNSN, the
bundled real item figures to 2017-03, and SYNTHETIC item values 2017-04..2026-07 (seeded,
balance = receipts - payments exactly; synthetic only inside tests). Then the real CLI runs
``deficit data fetch`` -> ``deficit refresh`` (one small monthly study and the mixed-frequency
study of configs/default.yaml) -> ``deficit predict``, each in its own process, with the vintage
store, the MLflow sqlite store and every output in a temporary directory.
"""

from __future__ import annotations

import html
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from boj_fixture_server import FixtureServer
from boj_history_fixture import AS_OF, history_answer, history_figures

from features.sources.boj_api import CREDIT
from features.sources.boj_catalogue import load_boj_catalogue
from features.vintages import VintageStore

ROOT = Path(__file__).resolve().parents[1]
MONTHLY = "live-monthly"
MIXED = "live-monthly-now"
FIRST_FORECAST = pd.Timestamp("2026-08-01")
pytestmark = pytest.mark.slow


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "MLFLOW_REGISTRY"))}
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def mixed_block() -> dict:
    """The mixed-frequency study of configs/default.yaml, renamed, with two origins and no
    indicators (speed); everything else as configured."""
    [study] = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))["mixed_frequency_studies"]
    study = {**study, "name": MIXED, "registered_model": MIXED, "indicators": []}
    study["evidence"] = {**study["evidence"], "origins": [2023, 2024]}
    return study


def write_config(tmp: Path) -> Path:
    # Nothing names the last month or the vintage: the refresh must find 2026-07 in the fetched vintage.
    config = {
        "mlruns_dir": str(tmp / "mlruns"),
        "series_catalog": str(ROOT / "configs" / "series.yaml"),
        "output_dir": str(tmp / "projections"),
        "n_jobs": 1,
        "scenarios_dir": str(ROOT / "configs" / "scenarios"),
        "data": {"dir": str(tmp / "store")},
        "studies": [
            {
                "name": MONTHLY,
                "registered_model": MONTHLY,
                "targets": ["digital_mof3.balance"],
                "exog": [],
                "models": ["naive", "seasonal_naive"],
                "backtest": {"horizon": 6, "n_origins": 3},
            }
        ],
        "mixed_frequency_studies": [mixed_block()],
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def source_rows(report: str) -> list[list[str]]:
    """The rows of the report's table "Where each figure came from" (cells as text)."""
    section = report.split("Where each figure came from", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
        if "<td" in r
    ]


def backtest_folds(tmp: Path, study: str) -> pd.DataFrame:
    """Every backtest forecast of a monthly study's refresh (its child runs' backtest.csv)."""
    from mlflow.tracking import MlflowClient

    db = f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=db, registry_uri=db)
    experiment = client.get_experiment_by_name(study)
    runs = [r for r in client.search_runs([experiment.experiment_id]) if "mlflow.parentRunId" in r.data.tags]
    frames = []
    for run in runs:
        local = client.download_artifacts(run.info.run_id, "backtest.csv", str(tmp / "downloads"))
        frames.append(pd.read_csv(local, parse_dates=["cutoff", "ds"]))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """fetch -> refresh -> predict once; the tests read what they left behind."""
    tmp = tmp_path_factory.mktemp("live")
    catalogue = load_boj_catalogue()
    with FixtureServer(history_answer(catalogue)) as server:
        fetched = cli("data", "fetch", "--base-url", server.url, "--data-dir", str(tmp / "store"), cwd=tmp)
    assert fetched.returncode == 0, fetched.stderr[-3000:]
    assert {r.endpoint for r in server.requests} == {"getMetadata", "getDataCode"}
    vintage = VintageStore(tmp / "store").newest()
    refreshed = cli("refresh", "--config", str(write_config(tmp)), cwd=tmp)  # exit code: its own test below
    predicted = cli(
        "predict",
        "--model-uri",
        f"models:/{MIXED}@champion",
        "--horizon",
        "3",
        "--mlruns-dir",
        str(tmp / "mlruns"),
        cwd=tmp,
    )
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    return tmp, vintage, fetched, refreshed, predicted


def test_the_fetch_stores_one_vintage_of_figures_to_2026_07(live):
    _, vintage, fetched, _, _ = live
    assert fetched.stdout.startswith(f"new vintage {vintage.id}")
    assert vintage.source == "boj_api" and vintage.as_of == AS_OF.replace(".000", "")
    assert vintage.last_period == "2026-07"


def test_the_refresh_runs_to_the_end_and_shows_the_credit_line(live):
    _, vintage, _, refreshed, _ = live
    assert refreshed.returncode == 0, refreshed.stderr[-3000:]
    assert f"registered {MIXED} version 1" in refreshed.stdout
    assert refreshed.stdout.rstrip().splitlines()[-1] == CREDIT


def test_the_monthly_study_backtests_on_the_new_months_and_projects_from_2026_08(live):
    tmp, _, _, _, _ = live
    proj = pd.read_csv(tmp / "projections" / f"{MONTHLY}.csv", parse_dates=["ds"])
    assert set(proj["unique_id"]) == {"digital_mof3.balance"}
    assert proj["ds"].min() == FIRST_FORECAST
    assert proj["last_observed"].eq("2026-07").all() and proj["source_vintage"].eq(AS_OF[:10]).all()
    # horizon 6, 3 origins: the folds are scored on the fetched months, the last one ending at 2026-07
    folds = backtest_folds(tmp, MONTHLY)
    assert set(folds["model"]) == {"naive", "seasonal_naive"}
    assert folds["ds"].max() == pd.Timestamp("2026-07-01") and folds["cutoff"].max() == pd.Timestamp("2026-01-01")
    assert folds["y"].notna().all()


def test_the_mixed_study_publishes_the_fetched_months_and_forecasts_from_2026_08(live):
    tmp, _, _, _, _ = live
    paths = pd.read_csv(tmp / "projections" / f"{MIXED}.csv", parse_dates=["ds"])
    for uid in ("digital_mof3.balance", "digital_mof3.receipts", "digital_mof3.payments"):
        path = paths[(paths["scenario"] == "baseline") & (paths["unique_id"] == uid)].set_index("ds")
        fetched = path.loc["2017-04-01":"2026-07-01", "kind"]
        assert len(fetched) == 112 and (fetched == "published").all(), uid  # no estimate left in 2017-04..2026-07
        assert path.loc[path["kind"] == "forecast"].index.min() == FIRST_FORECAST, uid
        assert "estimate" not in set(path["kind"]), uid
    # The published months are the fetched figures: 2026-07 of the 3-item balance, from the fixture.
    figures = history_figures()
    july = sum(
        figures[f"{item}.balance"][pd.Period("2026-07", "M")]
        for item in ("copyright_royalties", "telecom_computer_information", "prof_mgmt_consulting")
    )
    row = paths[
        (paths["scenario"] == "baseline")
        & (paths["unique_id"] == "digital_mof3.balance")
        & (paths["ds"] == "2026-07-01")
    ]
    assert row["yhat"].item() == july


def test_predict_on_the_mixed_champion_starts_at_2026_08(live):
    _, vintage, _, _, predicted = live
    out = pd.read_csv(io.StringIO(predicted.stdout), parse_dates=["ds"])
    assert (out.groupby("unique_id")["ds"].min() == FIRST_FORECAST).all()
    assert set(out["kind"]) == {"forecast"}
    assert out["last_observed"].eq("2026-07").all()


def test_the_mixed_report_says_which_months_came_from_the_fetched_vintage(live):
    tmp, vintage, _, _, _ = live
    report = (tmp / "projections" / f"{MIXED}-report.html").read_text(encoding="utf-8")
    rows = source_rows(report)
    monthly = [r for r in rows if r[0] == "digital_mof3.balance" and r[1] == "M"]
    # The fetched vintage covers every month 2014-01..2026-07 of the three items (it repeats the
    # bundled figures to 2017-03), so one row names it, through 2026-07.
    assert len(monthly) == 1, rows
    series, kind, source, as_of, months = monthly[0]
    assert as_of == vintage.as_of_date and months.endswith("..2026-07 (151)")
    assert "2026-07" in report.split("last published figure", 1)[1][:200]


def test_months_from_two_vintages_are_told_apart(tmp_path):
    """A vintage with months 2017-04..2026-07 only (a getDataCode with startDate=201704) over the
    bundled snapshot: the mixed study's monthly figures must name the bundled source for 2014-01..
    2017-03 and the fetched vintage for 2017-04..2026-07. In process, no refresh (fast)."""
    from boj_fixture_server import make_client

    from experiments.studies.mixed.figures import figure_windows
    from features.annual import load_annual_catalog
    from features.series import load_catalog
    from features.sources.boj_fetch import fetch_boj
    from features.vintage_snapshot import select_data

    catalogue = load_boj_catalogue()
    with FixtureServer(history_answer(catalogue, since="2017-04")) as server:
        VintageStore(tmp_path).save(fetch_boj(make_client(server), catalogue, tmp_path))
    selection = select_data(None, tmp_path)
    assert selection.vintage.first_period == "2017-04"
    catalog = load_annual_catalog(None, load_catalog(ROOT / "configs" / "series.yaml"))
    windows = figure_windows(selection.snapshot, catalog, "digital_mof3.balance")
    months = windows[windows["months"] == 1].set_index("start")
    assert months.index.min() == pd.Timestamp("2014-01-01") and months.index.max() == pd.Timestamp("2026-07-01")
    old, new = months.loc[:"2017-03-01"], months.loc["2017-04-01":]
    fetched = selection.vintage.source_id  # BOJ_API_<vintage id>
    assert set(old["vintage"]) == {"2017-05-26"} and not any(fetched in s for s in old["source_id"])
    assert set(new["vintage"]) == {AS_OF[:10]} and all(fetched in s for s in new["source_id"])
