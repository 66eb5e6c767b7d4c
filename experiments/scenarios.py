"""Scenarios (``configs/scenarios/*.yaml``): driver paths and explicit overlays for projections.

A scenario sets, for every projected period:

* USD/JPY: the baseline path (published monthly averages, then the last published month carried
  forward, i.e. a random walk's point forecast) times ``1 + usdjpy_change_pct / 100``;
* AI adoption: a named quantile path of the diffusion-curve draws (``slow``, ``median``, ``fast``);
* overlays: fixed amounts added to the projections of named targets, e.g. ``genai_subscriptions``
  = users x price per month x 12 x ramp share, in 億円.

Files are validated with pydantic; a bad file is one error line naming the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from features.errors import ConfigError, DeficitError
from features.yaml_settings import StrictSettings, load_settings

DEFAULT_SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "configs" / "scenarios"
BASELINE = "baseline"
LEVERS_FOLDER = "levers"
YEN_PER_100M_YEN = 1e8  # 億円


class UnknownScenarioError(DeficitError):
    """A scenario name that the scenario set (or a model version) does not define."""


class FxSetting(StrictSettings):
    usdjpy_change_pct: float = Field(0.0, gt=-90, lt=500)


class Overlay(StrictSettings):
    """``users`` x ``price_yen_per_month`` x 12 x ramp share per year, added to ``targets`` with a sign."""

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    users: float = Field(ge=0)
    price_yen_per_month: float = Field(ge=0)
    ramp_start: int = Field(ge=1990, le=2100)
    ramp_full: int = Field(ge=1990, le=2100)
    item: str = Field(min_length=1)
    flow: str = Field(pattern=r"^(receipts|payments|balance)$")
    targets: dict[str, int] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Overlay:
        if self.ramp_full < self.ramp_start:
            raise ValueError("ramp_full is before ramp_start")
        bad = {t: s for t, s in self.targets.items() if s not in (-1, 1)}
        if bad:
            raise ValueError(f"target signs must be +1 or -1, got {bad}")
        return self

    def share(self, year: int) -> float:
        """Ramp share of a calendar year: 0 before ramp_start, linear, 1 from ramp_full on."""
        if year < self.ramp_start:
            return 0.0
        if year >= self.ramp_full:
            return 1.0
        return (year - self.ramp_start + 1) / (self.ramp_full - self.ramp_start + 1)

    def full_annual_yen(self) -> float:
        """Yen a year at full ramp: users x price x 12."""
        return self.users * self.price_yen_per_month * 12

    def amount(self, ds: pd.Timestamp, freq: str) -> float:
        """億円 in the period starting at ``ds`` (``YS``: a year, ``QS``: a quarter, ``MS``: a month)."""
        months = {"YS": 12, "QS": 3, "MS": 1}[str(freq).split("-")[0]]
        return self.users * self.price_yen_per_month * months * self.share(ds.year) / YEN_PER_100M_YEN


class Scenario(StrictSettings):
    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    fx: FxSetting = FxSetting()
    adoption: str = "median"
    overlays: list[Overlay] = []
    # lever name -> setting (experiments/levers.py); a study resolves them into ``lever_amounts``
    levers: dict[str, Literal["low", "central", "high"]] = {}
    # filled by a study (resolve_levers): target -> period start (YYYY-MM-DD) -> 億円; stored with
    # model versions so that served answers carry the same amounts as the published files
    lever_amounts: dict[str, dict[str, float]] = {}

    @property
    def fx_multiplier(self) -> float:
        return 1.0 + self.fx.usdjpy_change_pct / 100.0

    def overlay_amounts(self, index: pd.DatetimeIndex, freq: str, target: str) -> pd.Series:
        """Sum of the overlays and resolved levers on ``target`` for each period of ``index`` (億円, signed)."""
        total = pd.Series(0.0, index=index)
        for overlay in self.overlays:
            sign = overlay.targets.get(target, 0)
            if sign:
                total += sign * np.array([overlay.amount(ds, freq) for ds in index])
        resolved = self.lever_amounts.get(target)
        if resolved:
            total += np.array([resolved.get(f"{pd.Timestamp(ds):%Y-%m-%d}", 0.0) for ds in index])
        return total

    def summary(self) -> dict:
        """JSON-ready description, stored with registered models so they serve it unchanged."""
        return self.model_dump(mode="json")


def load_scenario(path: Path) -> Scenario:
    path = Path(path)
    scenario = load_settings(path, Scenario, "a mapping with name, description, fx, adoption, overlays")
    if scenario.name != path.stem:
        raise ConfigError(f"{path}: name '{scenario.name}' differs from the file name '{path.stem}'")
    return scenario


def scenario_files(directory: Path | None = None) -> list[Path]:
    """Every settings file a scenario set reads: its scenarios and its levers (for fingerprints)."""
    directory = Path(directory if directory is not None else DEFAULT_SCENARIOS_DIR)
    return [*sorted(directory.glob("*.yaml")), *sorted((directory / LEVERS_FOLDER).glob("*.yaml"))]


def scenario_levers(directory: Path | None = None):
    """The levers the scenarios of ``directory`` may turn (its ``levers/`` folder)."""
    from experiments.levers import load_levers

    return load_levers(Path(directory if directory is not None else DEFAULT_SCENARIOS_DIR) / LEVERS_FOLDER)


def load_scenarios(directory: Path | None = None, adoption_paths: tuple[str, ...] | None = None) -> dict[str, Scenario]:
    """Every ``*.yaml`` of ``directory`` by name; a baseline is required. ``adoption_paths`` (the
    quantile names of the adoption config), when given, are the allowed ``adoption`` values. Every
    lever a scenario names must be a file of ``directory/levers``."""
    directory = Path(directory) if directory is not None else DEFAULT_SCENARIOS_DIR
    if not directory.is_dir():
        raise ConfigError(f"scenario folder not found: {directory}")
    levers = scenario_levers(directory)
    scenarios = {}
    for path in sorted(directory.glob("*.yaml")):
        scenario = load_scenario(path)
        if adoption_paths is not None and scenario.adoption not in adoption_paths:
            raise ConfigError(f"{path}: adoption: '{scenario.adoption}' is not one of {', '.join(adoption_paths)}")
        unknown = sorted(set(scenario.levers) - set(levers))
        if unknown:
            raise ConfigError(f"{path}: lever '{unknown[0]}' is not defined in {directory / LEVERS_FOLDER}")
        scenarios[scenario.name] = scenario
    if BASELINE not in scenarios:
        raise ConfigError(f"{directory}: no '{BASELINE}.yaml' (every scenario is read against the baseline)")
    return scenarios


def pick(scenarios: dict, name: str | None) -> str:
    """The scenario name to use (default baseline); unknown names give one clear line."""
    name = BASELINE if name in (None, "") else str(name)
    if name not in scenarios:
        raise UnknownScenarioError(f"unknown scenario '{name}'; known: {', '.join(sorted(scenarios))}")
    return name


# ---- driver paths --------------------------------------------------------------------------------


def baseline_fx_monthly(known_monthly: pd.Series, until: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
    """Monthly USD/JPY from the first known month to ``until``: published, then the last value
    carried forward. Returns (level, source) with source 'published' or 'carried_forward'."""
    known = known_monthly.dropna()
    end = max(pd.Timestamp(until), known.index[-1])
    grid = pd.date_range(known.index[0], end, freq="MS")
    level = known.reindex(grid)
    source = pd.Series(np.where(level.notna(), "published", "carried_forward"), index=grid)
    return level.ffill(), source


def fx_path(index: pd.DatetimeIndex, freq: str, known_monthly: pd.Series, multiplier: float = 1.0) -> pd.Series:
    """USD/JPY level per period of ``index`` at ``freq`` (period mean of the monthly path) x multiplier."""
    freq = str(freq).split("-")[0]
    months_per = {"MS": 1, "QS": 3, "YS": 12}[freq]
    last_month = pd.Timestamp(index.max()) + pd.DateOffset(months=months_per - 1)
    monthly, _ = baseline_fx_monthly(known_monthly, last_month)
    period = monthly.resample(freq).mean() if freq != "MS" else monthly
    return period.reindex(index) * multiplier


def apply_overlays(frame: pd.DataFrame, scenario: Scenario, freq: str) -> pd.DataFrame:
    """Add the scenario's overlays to the ``yhat*`` columns of a projection frame (``unique_id, ds``)."""
    if not scenario.overlays:
        return frame
    out = frame.copy()
    amount = np.zeros(len(out))
    for uid, rows in out.groupby("unique_id"):
        index = pd.DatetimeIndex(rows["ds"])
        amount[out.index.get_indexer(rows.index)] = scenario.overlay_amounts(index, freq, str(uid)).to_numpy()
    for column in [c for c in out.columns if c.startswith("yhat")]:
        out[column] = out[column] + amount
    return out


def served_scenarios(meta: dict) -> dict[str, Scenario]:
    """The scenarios a model version was published with (older versions: the baseline only)."""
    stored = meta.get("scenarios") or {BASELINE: {"name": BASELINE, "description": "no change to any driver"}}
    return {name: Scenario.model_validate(entry) for name, entry in stored.items()}


def resolve_levers(
    scenario: Scenario, levers: dict, index: pd.DatetimeIndex, freq: str, baseline: dict[str, pd.Series]
) -> Scenario:
    """The scenario with its levers' amounts on ``index`` (per target, 億円), computed from the
    study's ``baseline`` projections of each lever's base series (experiments/levers.py)."""
    from experiments.levers import lever_effects

    if not scenario.levers:
        return scenario
    effects = lever_effects(levers, dict(scenario.levers), pd.DatetimeIndex(index), freq, baseline)
    amounts = {target: {f"{ds:%Y-%m-%d}": float(v) for ds, v in series.items()} for target, series in effects.items()}
    return scenario.model_copy(update={"lever_amounts": amounts})
