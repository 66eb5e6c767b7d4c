"""Scenario files, overlay arithmetic, driver paths, and the yen scenarios' effect on projections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.config import load_config
from experiments.scenarios import (
    BASELINE,
    DEFAULT_SCENARIOS_DIR,
    Overlay,
    Scenario,
    UnknownScenarioError,
    apply_overlays,
    fx_path,
    load_scenarios,
    pick,
)
from experiments.studies.annual.projection import resolve_paths
from features.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scenarios():
    return load_scenarios(DEFAULT_SCENARIOS_DIR, adoption_paths=("slow", "median", "fast"))


def test_default_scenarios(scenarios):
    assert set(scenarios) == {
        "baseline",
        "yen_weak",
        "yen_strong",
        "ai_fast",
        "ai_slow",
        "genai_subscriptions",
        "agents_boom",
        "sovereign_ai",
        "price_cuts",
        "high",
        "low",
    }
    assert scenarios["yen_weak"].fx_multiplier == pytest.approx(1.15)
    assert scenarios["yen_strong"].fx_multiplier == pytest.approx(0.85)
    assert (scenarios["ai_fast"].adoption, scenarios["ai_slow"].adoption) == ("fast", "slow")
    assert scenarios[BASELINE].fx_multiplier == 1.0 and scenarios[BASELINE].adoption == "median"


def test_overlay_arithmetic():
    overlay = Overlay(
        name="genai",
        users=30e6,
        price_yen_per_month=3000,
        ramp_start=2026,
        ramp_full=2029,
        item="telecom_computer_information",
        flow="payments",
        targets={"digital_mof3.payments": 1, "digital_mof3.balance": -1},
    )
    assert overlay.full_annual_yen() == 30e6 * 3000 * 12 == 1.08e12  # ¥1.08 tn a year at full ramp
    assert overlay.amount(pd.Timestamp("2030-01-01"), "YS") == pytest.approx(10_800)  # 億円
    assert overlay.amount(pd.Timestamp("2030-05-01"), "MS") == pytest.approx(900)
    shares = {y: overlay.share(y) for y in range(2025, 2031)}
    assert shares == {2025: 0.0, 2026: 0.25, 2027: 0.5, 2028: 0.75, 2029: 1.0, 2030: 1.0}
    years = pd.date_range("2025-01-01", "2030-01-01", freq="YS")
    scenario = Scenario(name="subs", description="overlay only", overlays=[overlay])
    payments = scenario.overlay_amounts(years, "YS", "digital_mof3.payments")
    balance = scenario.overlay_amounts(years, "YS", "digital_mof3.balance")
    np.testing.assert_allclose(payments, [0, 2700, 5400, 8100, 10800, 10800])
    np.testing.assert_allclose(balance, -payments)  # more payments abroad, a deeper deficit
    assert (scenario.overlay_amounts(years, "YS", "digital_mof3.receipts") == 0).all()
    frame = pd.DataFrame({"unique_id": "digital_mof3.balance", "ds": years, "yhat": 0.0, "yhat_lo_80": -1.0})
    out = apply_overlays(frame, scenario, "YS")
    np.testing.assert_allclose(out["yhat"], balance)
    np.testing.assert_allclose(out["yhat_lo_80"], balance - 1)


def test_genai_subscriptions_lever_arithmetic(scenarios):
    """The default subscriptions scenario through its lever: 30M x 3,000 yen x 12 = 10,800 億円 at full use."""
    from experiments.scenarios import resolve_levers, scenario_levers

    levers = scenario_levers(DEFAULT_SCENARIOS_DIR)
    scenario = scenarios["genai_subscriptions"]
    assert dict(scenario.levers) == {"genai_subscriptions": "central"}
    years = pd.date_range("2025-01-01", "2030-01-01", freq="YS")
    resolved = resolve_levers(scenario, levers, years, "YS", {})
    payments = resolved.overlay_amounts(years, "YS", "digital_mof3.payments")
    np.testing.assert_allclose(payments, [0, 2700, 5400, 8100, 10800, 10800])
    np.testing.assert_allclose(resolved.overlay_amounts(years, "YS", "digital_mof3.balance"), -payments)
    months = pd.date_range("2026-01-01", "2026-12-01", freq="MS")
    monthly = resolve_levers(scenario, levers, months, "MS", {}).overlay_amounts(months, "MS", "digital_mof3.payments")
    np.testing.assert_allclose(monthly, 225.0)  # 2,700 億円 in 2026, spread over its months


def test_fx_path_is_published_then_carried_and_scaled():
    known = pd.Series([100.0, 110.0, 120.0], index=pd.date_range("2026-01-01", periods=3, freq="MS"))
    years = pd.DatetimeIndex(["2026-01-01", "2027-01-01"])
    base = fx_path(years, "YS", known)
    assert base.iloc[0] == pytest.approx((100 + 110 + 120 * 10) / 12) and base.iloc[1] == 120.0
    np.testing.assert_allclose(fx_path(years, "YS", known, 1.15), base * 1.15)


def test_unknown_scenario_is_a_clear_error(scenarios):
    assert pick(scenarios, None) == BASELINE
    with pytest.raises(
        UnknownScenarioError, match="unknown scenario 'yen_crash'; known: agents_boom, ai_fast, ai_slow, baseline"
    ):
        pick(scenarios, "yen_crash")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("name: bad\ndescription: x\nfx: {usdjpy_change_pct: fifteen}\n", "fx.usdjpy_change_pct"),
        ("name: bad\ndescription: x\nwind: 3\n", "wind"),
        ("name: other\ndescription: x\n", "differs from the file name"),
        (
            "name: bad\ndescription: x\noverlays: [{name: o, users: 1, price_yen_per_month: 1, ramp_start: 2027, "
            "ramp_full: 2026, item: x, flow: payments, targets: {a: 1}}]\n",
            "ramp_full is before ramp_start",
        ),
        ("name: bad\ndescription: x\nadoption: turbo\n", "'turbo' is not one of slow, median, fast"),
        ("- a list\n", "expected a mapping"),
    ],
)
def test_bad_scenario_files_are_one_line_errors(tmp_path, text, fragment):
    (tmp_path / "baseline.yaml").write_text((DEFAULT_SCENARIOS_DIR / "baseline.yaml").read_text(), encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenarios(tmp_path, adoption_paths=("slow", "median", "fast"))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_baseline_is_required(tmp_path):
    (tmp_path / "yen_weak.yaml").write_text((DEFAULT_SCENARIOS_DIR / "yen_weak.yaml").read_text(), encoding="utf-8")
    with pytest.raises(ConfigError, match="no 'baseline.yaml'"):
        load_scenarios(tmp_path)


@pytest.fixture(scope="module")
def annual():
    """The default annual study's inputs and its selected models fitted on all data (no backtest)."""
    from experiments.studies.annual.study import fit_final, prepare_annual
    from features.series import load_catalog
    from features.snapshot import load_snapshot

    config, _ = load_config(ROOT / "configs" / "default.yaml", base=ROOT)
    study = config.annual_studies[0]
    data = prepare_annual(load_snapshot(), load_catalog(config.series_catalog), study)
    chosen = pd.DataFrame({"unique_id": study.targets, "model": study.selection.fallback})
    return study, data, fit_final(study, data, chosen)


def test_yen_scenarios_move_projected_yen_payments(annual):
    from experiments.studies.annual.study import project_all

    study, data, estimators = annual
    projections, stored, _ = project_all(study, data, estimators)
    at = projections[projections["ds"] == pd.Timestamp(f"{study.projection_end}-01-01")]
    pay = at[at["unique_id"] == "digital_mof3.payments"].set_index("scenario")["yhat"]
    assert pay["yen_weak"] > pay[BASELINE] > pay["yen_strong"]
    # the currency decomposition passes the exchange rate through one for one
    assert pay["yen_weak"] / pay[BASELINE] == pytest.approx(1.15)
    assert pay["yen_strong"] / pay[BASELINE] == pytest.approx(0.85)
    bal = at[at["unique_id"] == "digital_mof3.balance"].set_index("scenario")["yhat"]
    assert bal["yen_weak"] < bal[BASELINE] < bal["yen_strong"]  # a weaker yen deepens the yen deficit
    assert pay["genai_subscriptions"] - pay[BASELINE] == pytest.approx(10_800)
    assert set(stored) == set(data.scenarios)


def test_scenario_driver_paths(annual):
    study, data, _ = annual
    years = pd.date_range("2026-01-01", "2030-01-01", freq="YS")
    paths = {name: resolve_paths(s, years, data.known_fx, data.adoption) for name, s in data.scenarios.items()}
    np.testing.assert_allclose(paths["yen_weak"]["usdjpy"], paths[BASELINE]["usdjpy"] * 1.15)
    assert (paths["ai_fast"]["ai_adoption"] > paths[BASELINE]["ai_adoption"]).all()
    assert (paths["ai_slow"]["ai_adoption"] < paths[BASELINE]["ai_adoption"]).all()
    last = data.known_fx.dropna()
    assert paths[BASELINE]["usdjpy"].iloc[-1] == pytest.approx(last.iloc[-1])  # random walk from the last value


def test_cli_lists_and_shows_scenarios():
    from experiments.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["scenarios", "list"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    for name in (
        "baseline",
        "yen_weak",
        "yen_strong",
        "ai_fast",
        "ai_slow",
        "genai_subscriptions",
        "agents_boom",
        "sovereign_ai",
        "price_cuts",
        "high",
        "low",
    ):
        assert name in listed.output
    shown = runner.invoke(app, ["scenarios", "show", "genai_subscriptions"])
    assert shown.exit_code == 0 and "10,800 億円" in shown.output and "2029: share 1.00" in shown.output
    assert "source: AI_SOUMU_R07_IND" in shown.output and "users = 30,000,000 persons" in shown.output
    missing = runner.invoke(app, ["scenarios", "show", "nope"])
    assert missing.exit_code != 0


def test_the_levers_page_lists_every_lever_and_source():
    from experiments.scenarios import scenario_levers

    page = (Path(__file__).resolve().parents[1] / "docs" / "scenario-levers.md").read_text(encoding="utf-8")
    for name, lever in scenario_levers(DEFAULT_SCENARIOS_DIR).items():
        assert f"### `{name}`" in page, name
        for number in lever.factors.values():
            for source in number.sources:
                assert (source.url or source.id or source.assumption) in page, (name, source)
