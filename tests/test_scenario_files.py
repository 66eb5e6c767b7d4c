"""User-written levers and scenarios work without code changes; hostile ones end in one line.

Through the CLI: `deficit scenarios list|show --dir` reads a scenario folder, and `deficit refresh`
projects with it (a small config whose studies read that folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scenario_arithmetic import balance_change_by_hand

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "configs" / "scenarios"
SOURCE = {"title": "A user's source", "url": "https://example.org/figures", "date": "2026-11"}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _lever(name: str, **change) -> dict:
    lever = {
        "name": name,
        "description": "a user's lever",
        "flow": "payments",
        "item": "telecom_computer_information",
        "form": "overlay",
        "sign": 1,
        "factors": {
            "amount_yen": {"low": 1e11, "central": 2e11, "high": 4e11, "unit": "yen a year", "sources": [SOURCE]}
        },
        "path": [{"year": 2027, "share": 0.5}, {"year": 2029, "share": 1.0}],
        "path_sources": [{"assumption": "a two-year ramp", "basis": "the user's plan"}],
        "targets": {"digital_mof3.payments": 1, "digital_mof3.balance": -1},
    }
    lever.update(change)
    return lever


def _folder(tmp: Path, levers: list[dict], scenarios: list[dict]) -> Path:
    folder = tmp / "scenarios"
    shutil.copytree(DEFAULT, folder)
    for lever in levers:
        (folder / "levers" / f"{lever['name']}.yaml").write_text(
            yaml.safe_dump(lever, allow_unicode=True), encoding="utf-8"
        )
    for scenario in scenarios:
        (folder / f"{scenario['name']}.yaml").write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
    return folder


# ---- three user-written files that work -------------------------------------------------------------

USER_LEVERS = [
    _lever("cloud_levy"),  # an overlay on payments
    _lever(
        "anime_exports",
        flow="receipts",
        item="copyright_royalties",
        form="share",
        sign=1,
        base="digital_mof3.receipts",
        factors={
            "growth": {
                "low": 0.02,
                "central": 0.05,
                "high": 0.1,
                "unit": "fraction of receipts",
                "sources": [{"id": "BOP_JIJI_2023CY"}],
            }
        },
        targets={"digital_mof3.receipts": 1, "digital_mof3.balance": 1},
    ),  # a share of receipts
]
USER_SCENARIOS = [
    {
        "name": "user_mix",
        "description": "user levers with a weaker yen",
        "fx": {"usdjpy_change_pct": 10},
        "levers": {"cloud_levy": "high", "anime_exports": "central", "price_cuts": "low"},
    },
]


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("user_scenarios")
    folder = _folder(tmp, USER_LEVERS, USER_SCENARIOS)
    mixed = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))["mixed_frequency_studies"][
        0
    ]
    mixed.update(scenarios_dir=str(folder), indicators=[], evidence={"origins": [2024]})
    config = {
        "mlruns_dir": str(tmp / "mlruns"),
        "series_catalog": str(ROOT / "configs" / "series.yaml"),
        "output_dir": str(tmp / "projections"),
        "n_jobs": 1,
        "scenarios_dir": str(folder),
        "studies": [
            {
                "name": "ddm",
                "registered_model": "ddm-user",
                "targets": ["digital_mof3.balance"],
                "models": ["naive"],
                "backtest": {"horizon": 3, "n_origins": 2},
            }
        ],
        "mixed_frequency_studies": [mixed],
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp, folder


def test_user_files_are_listed_and_shown_with_their_sources(user_run):
    tmp, folder = user_run
    listed = cli("scenarios", "list", "--dir", str(folder), cwd=tmp)
    assert listed.returncode == 0, listed.stderr
    assert "user_mix" in listed.stdout and "cloud_levy high" in listed.stdout
    shown = cli("scenarios", "show", "user_mix", "--dir", str(folder), cwd=tmp)
    assert shown.returncode == 0, shown.stderr
    assert "lever cloud_levy (high)" in shown.stdout and "+4,000 億円 a year at full effect" in shown.stdout
    assert "source: A user's source, 2026-11, https://example.org/figures" in shown.stdout
    assert (
        "lever anime_exports (central)" in shown.stdout
        and "+5.00% of the baseline digital_mof3.receipts" in shown.stdout
    )


@pytest.mark.slow
def test_a_refresh_projects_user_scenarios_by_their_stated_amounts(user_run):
    tmp, folder = user_run
    proc = cli("refresh", "--config", str(tmp / "config.yaml"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = pd.read_csv(tmp / "projections" / "digital-deficit-monthly-now.csv", parse_dates=["ds"])
    in_2030 = paths[paths["ds"].dt.year == 2030].groupby(["scenario", "unique_id"])["yhat"].sum()
    base = in_2030.xs("baseline").to_dict()
    expected = balance_change_by_hand(folder / "user_mix.yaml", 2030, base)
    got = in_2030[("user_mix", "digital_mof3.balance")] - base["digital_mof3.balance"]
    assert got == pytest.approx(expected, abs=1e-6)
    # by hand: yen +10% of the balance, the levy -4,000, receipts +5%, price cuts low (-0.25% of payments)
    by_hand = (
        0.10 * base["digital_mof3.balance"]
        - 4000
        + 0.05 * base["digital_mof3.receipts"]
        + 0.0025 * base["digital_mof3.payments"]
    )
    assert got == pytest.approx(by_hand, abs=1e-6)
    wide = paths[paths["scenario"] == "user_mix"].pivot(index="ds", columns="unique_id", values="yhat")
    gap = wide["digital_mof3.balance"] - (wide["digital_mof3.receipts"] - wide["digital_mof3.payments"])
    assert gap.loc["2017-04-01":].abs().max() < 1e-6


# ---- hostile files: one line, exit 2, nothing written -----------------------------------------------

HOSTILE = {
    "unknown_flow": ([_lever("bad_flow", flow="imports")], "flow"),
    "missing_source": (
        [
            _lever(
                "no_source", factors={"amount_yen": {"low": 1, "central": 2, "high": 3, "unit": "yen", "sources": []}}
            )
        ],
        "sources",
    ),
    "negative_share": (
        [
            _lever(
                "negative",
                form="share",
                base="digital_mof3.payments",
                factors={"share": {"low": -0.1, "central": 0.1, "high": 0.2, "unit": "fraction", "sources": [SOURCE]}},
            )
        ],
        "negative",
    ),
    "unknown_source_id": (
        [
            _lever(
                "bad_id",
                factors={
                    "amount_yen": {
                        "low": 1,
                        "central": 2,
                        "high": 3,
                        "unit": "yen",
                        "sources": [{"id": "NOT_A_SOURCE"}],
                    }
                },
            )
        ],
        "NOT_A_SOURCE",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_levers_are_one_error_line(tmp_path, case):
    levers, word = HOSTILE[case]
    folder = _folder(tmp_path, levers, [{"name": "uses_it", "description": "x", "levers": {levers[0]["name"]: "low"}}])
    proc = cli("scenarios", "list", "--dir", str(folder), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and word in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "case, levers, scenario, word",
    [
        (
            "path_past_horizon",
            [_lever("late", path=[{"year": 2029, "share": 0.5}, {"year": 2035, "share": 1.0}])],
            {"name": "late_one", "description": "x", "levers": {"late": "central"}},
            "2035",
        ),
        ("unknown_lever", [], {"name": "ghost", "description": "x", "levers": {"ghost_lever": "high"}}, "ghost_lever"),
        (
            "unknown_target",
            [_lever("elsewhere", targets={"nope.payments": 1})],
            {"name": "elsewhere_one", "description": "x", "levers": {"elsewhere": "low"}},
            "nope.payments",
        ),
    ],
)
def test_a_refresh_with_a_hostile_scenario_writes_nothing(tmp_path, case, levers, scenario, word):
    _refresh_fails_cleanly(tmp_path, _folder(tmp_path, levers, [scenario]), word)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_refresh_with_a_hostile_lever_writes_nothing(tmp_path, case):
    levers, word = HOSTILE[case]
    folder = _folder(tmp_path, levers, [{"name": "uses_it", "description": "x", "levers": {levers[0]["name"]: "low"}}])
    _refresh_fails_cleanly(tmp_path, folder, word)


def _refresh_fails_cleanly(tmp_path: Path, folder: Path, word: str) -> None:
    mixed = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))["mixed_frequency_studies"][
        0
    ]
    mixed.update(scenarios_dir=str(folder))
    config = textwrap.dedent(f"""
        mlruns_dir: {tmp_path / "mlruns"}
        series_catalog: {ROOT / "configs" / "series.yaml"}
        output_dir: {tmp_path / "projections"}
        scenarios_dir: {folder}
        studies:
          - {{name: ddm, registered_model: ddm, targets: [digital_mof3.balance], models: [naive],
              backtest: {{horizon: 3, n_origins: 2}}}}
    """)
    path = tmp_path / "config.yaml"
    path.write_text(config + yaml.safe_dump({"mixed_frequency_studies": [mixed]}), encoding="utf-8")
    proc = cli("refresh", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-2000:]
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and word in proc.stderr, proc.stderr
    assert not (tmp_path / "projections").exists() and not (tmp_path / "mlruns").exists()
