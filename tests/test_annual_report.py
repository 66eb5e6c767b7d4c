"""The annual study's HTML report: written beside the projections, logged to the run, self-contained."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from test_annual_e2e import ANNUAL

pytestmark = pytest.mark.slow
TARGETS = ("digital_mof3.balance", "digital_mof3.receipts", "digital_mof3.payments")
SCENARIOS = ("baseline", "yen_weak", "yen_strong", "ai_fast", "ai_slow", "genai_subscriptions")


@pytest.fixture(scope="module")
def report(annual_refresh):
    tmp, _ = annual_refresh  # the refresh of tests/test_annual_e2e.py (conftest.py)
    return tmp, (tmp / "projections" / "dda-report.html").read_text(encoding="utf-8")


def test_report_names_every_target_scenario_and_selected_model(report):
    _, html = report
    assert "dda: annual projection report" in html
    for uid in TARGETS:
        assert uid in html
    for name in SCENARIOS:
        assert f"<th>{name}</th>" in html or f"<td>{name}</td>" in html  # a deltas column or a sensitivity row
    # Every series of the fixture's study has fewer scored origins than min_origins: the fallback serves.
    assert "usd_trend" in html and "fallback" in html and "selection.min_origins" in html
    assert "Scenario deltas in 2030" in html and "Sensitivity: usd_trend_ai in 2030" in html
    assert "oracle (upper bound)" in html and "Backtest check of 2025" in html and "-67,000" in html


def test_report_embeds_the_study_charts_and_is_logged_to_the_run(report):
    tmp, html = report
    assert html.count('src="data:image/png;base64,') == 3  # the scenario fan grid, the comparison chart, the tornado
    # the tornado's table: every lever with its numbers and sources
    assert "Sensitivity 2030: each lever's low and high effect on the balance" in html
    for lever in (
        "ai_agents",
        "genai_subscriptions",
        "domestic_substitution",
        "price_cuts",
        "adoption_gap",
        "yen (USD/JPY",
    ):
        assert f"<td>{lever}" in html, lever
    assert "https://mjtsai.com/blog/2025/12/18/japan-app-marketplaces-external-payments-new-fee-structure" in html
    assert "assumption: " in html and "AI_SOUMU_R07_IND" in html
    assert 'src="dda-' not in html  # no link to a file beside it
    uri = f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # not whatever registry an earlier test set
    version = client.get_model_version_by_alias(ANNUAL, "champion")
    assert f"{ANNUAL} version {version.version}" in html and version.run_id in html
    logged = mlflow.artifacts.load_text(f"runs:/{version.run_id}/report.html")
    assert logged == html
    assert not list((tmp / "projections").glob(".dda-report.html.*"))  # atomic write: no temporary left


def test_report_reads_cleanly_in_a_browser(report, tmp_path):
    """In headless Chromium: no console errors, every fan chart decoded, one selection row per
    target; screenshot in build/screenshots/annual-report.png."""
    from browser import assert_reads_cleanly, chromium, open_report

    tmp, _ = report
    path = tmp / "projections" / "dda-report.html"
    with chromium(tmp_path / "profile") as driver:
        page = open_report(driver, path, "annual-report")
        assert_reads_cleanly(page, path, min_images=len(TARGETS))
        text = driver.find_element("tag name", "body").text
        assert all(target in text for target in TARGETS)
