"""Scenario levers (``configs/scenarios/levers/*.yaml``): the forces a scenario turns, each with its
numbers' sources.

A lever moves one flow (payments or receipts) of the digital balance by an amount per year:

* ``overlay``: the product of its factors, in yen a year, as 億円 (e.g. workers using AI agents x
  tasks a month x yen per task x 12);
* ``share``: the product of its factors (fractions) times the study's baseline projection of
  ``base`` (e.g. the share of cloud and AI payments that moves to domestic data centres);
* ``price``: the same arithmetic as ``share``, for a price cut (share of payments affected x cut).

``sign`` says whether the amount adds to (+1) or takes from (-1) the flow; ``targets`` says which
projected series carry it with which sign (payments +1 and balance -1, say). Every factor has a
``low``, ``central`` and ``high`` value and a non-empty ``sources`` list: an id of the project's
source registry (SOURCES.md), a citation (title, url, date) or an explicit ``assumption`` with its
basis. The ``path`` gives the share of the full effect reached by each listed year (linear between
points, nothing before the first, flat after the last); its points need sources too. A lever is
checked against the study that uses it: its targets must be projected, and its path must not run
past the study's last projected year.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from features.errors import ConfigError
from features.source_registry import SOURCE_REGISTRY
from features.yaml_settings import StrictSettings, load_settings

YEN_PER_OKU = 1e8  # 1 億円
SETTINGS = ("low", "central", "high")
Setting = Literal["low", "central", "high"]


class Source(StrictSettings):
    """One of: ``id`` (the project's source registry), a citation (``title``, ``url``, ``date``,
    optional ``quote``), or ``assumption`` (ours, with its ``basis``)."""

    id: str | None = None
    title: str | None = None
    url: str | None = Field(None, pattern=r"^https?://\S+$")
    date: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    quote: str | None = None
    assumption: str | None = None
    basis: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        kinds = [self.id is not None, self.title is not None or self.url is not None, self.assumption is not None]
        if sum(kinds) != 1:
            raise ValueError("a source is exactly one of: id, a citation (title, url, date), an assumption")
        if self.id is not None and self.id not in SOURCE_REGISTRY:
            raise ValueError(f"source id '{self.id}' is not in the source registry (SOURCES.md)")
        if kinds[1] and not (self.title and self.url and self.date):
            raise ValueError("a citation needs title, url and date")
        if self.assumption is not None and not self.basis:
            raise ValueError("an assumption needs its basis")
        return self

    def text(self) -> str:
        if self.id is not None:
            src = SOURCE_REGISTRY[self.id]
            return f"{self.id}: {src.title} ({src.vintage})"
        if self.assumption is not None:
            return f"assumption: {self.assumption} (basis: {self.basis})"
        return f"{self.title}, {self.date}, {self.url}"


class Number(StrictSettings):
    low: float
    central: float
    high: float
    unit: str = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Number:
        if not self.low <= self.central <= self.high:
            raise ValueError("low <= central <= high is required")
        if self.low < 0:
            raise ValueError("values must not be negative (the lever's sign gives the direction)")
        return self

    def value(self, setting: str) -> float:
        return float(getattr(self, setting))


class PathPoint(StrictSettings):
    year: int = Field(ge=1990, le=2100)
    share: float = Field(ge=0, le=1)


class Lever(StrictSettings):
    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    flow: Literal["payments", "receipts"]
    item: str = Field(min_length=1)
    form: Literal["overlay", "share", "price"]
    sign: Literal[-1, 1]
    base: str | None = None  # share/price: the projected series the fractions apply to
    factors: dict[str, Number] = Field(min_length=1)
    path: list[PathPoint] = Field(min_length=1)
    path_sources: list[Source] = Field(min_length=1)
    targets: dict[str, Literal[-1, 1]] = Field(min_length=1)

    @field_validator("path")
    @classmethod
    def _increasing(cls, path: list[PathPoint]) -> list[PathPoint]:
        years = [p.year for p in path]
        if years != sorted(set(years)):
            raise ValueError("path years must increase")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> Lever:
        if self.form == "overlay" and self.base is not None:
            raise ValueError("an overlay lever has no base (its amount is the product of its factors)")
        if self.form != "overlay":
            if self.base is None:
                raise ValueError(f"a {self.form} lever needs the base series its fractions apply to")
            big = [n for n, f in self.factors.items() if f.high > 1]
            if big:
                raise ValueError(f"factor '{big[0]}' of a {self.form} lever is a fraction: at most 1")
        return self

    def ramp(self, years) -> np.ndarray:
        """Share of the full effect reached in each year (linear between path points)."""
        points = [p.year for p in self.path]
        values = [p.share for p in self.path]
        years = np.asarray(years, dtype=float)
        out = np.interp(years, points, values)
        return np.where(years < points[0], 0.0, out)

    def full_effect(self, setting: str) -> float:
        """Product of the factors: 億円 a year (overlay) or a fraction of the base (share, price)."""
        product = float(np.prod([f.value(setting) for f in self.factors.values()]))
        return product / YEN_PER_OKU if self.form == "overlay" else product

    def amounts(self, setting: str, years, base: np.ndarray | None = None) -> np.ndarray:
        """Signed change of the flow in each year (億円): overlay amounts, or fractions of ``base``."""
        effect = self.sign * self.full_effect(setting) * self.ramp(years)
        if self.form == "overlay":
            return effect
        if base is None:
            raise ValueError(f"lever '{self.name}' needs the baseline of '{self.base}'")
        return effect * np.asarray(base, dtype=float)

    def check_for(self, targets: list[str], last_year: int, where: str) -> None:
        stray = [t for t in [*self.targets, *([self.base] if self.base else [])] if t not in targets]
        if stray:
            raise ConfigError(f"{where}: lever '{self.name}' names '{stray[0]}', which the study does not project")
        if self.path[-1].year > last_year:
            raise ConfigError(
                f"{where}: lever '{self.name}' has a path point in {self.path[-1].year}, past the "
                f"study's last projected year {last_year}"
            )


def load_lever(path: Path) -> Lever:
    path = Path(path)
    lever = load_settings(
        path, Lever, "a mapping with name, description, flow, item, form, sign, factors, path, path_sources, targets"
    )
    if lever.name != path.stem:
        raise ConfigError(f"{path}: name '{lever.name}' differs from the file name '{path.stem}'")
    return lever


def load_levers(directory: Path) -> dict[str, Lever]:
    """Every ``*.yaml`` of ``directory`` (none when the folder does not exist)."""
    directory = Path(directory)
    return (
        {lever.name: lever for lever in (load_lever(p) for p in sorted(directory.glob("*.yaml")))}
        if directory.is_dir()
        else {}
    )


def lever_effects(
    levers: dict[str, Lever],
    settings: dict[str, str],
    index: pd.DatetimeIndex,
    freq: str,
    baseline: dict[str, pd.Series],
) -> dict[str, pd.Series]:
    """Per target, the sum of the levers' signed amounts in each period of ``index`` (億円). Annual
    amounts are spread evenly over the months of a monthly index. ``baseline``: each lever base's
    baseline projection on ``index``."""
    per_year = 12 if str(freq).startswith("M") else 1
    out: dict[str, pd.Series] = {}
    for name, setting in settings.items():
        lever = levers[name]
        base = None
        if lever.base is not None:
            base = baseline[lever.base].reindex(index).to_numpy(dtype=float) * per_year
        amounts = lever.amounts(setting, index.year, base) / per_year
        for target, sign in lever.targets.items():
            out[target] = out.get(target, pd.Series(0.0, index=index)) + sign * amounts
    return out


def lever_sensitivity(
    levers: dict[str, Lever], baseline: dict[str, pd.Series], index: pd.DatetimeIndex, freq: str, year: int, target: str
) -> pd.DataFrame:
    """Each lever alone at its low and high setting: its effect on ``target`` summed over ``year``
    (億円), with its numbers and sources, for the tornado view."""
    rows = []
    for name, lever in sorted(levers.items()):
        effects = {s: lever_effects(levers, {name: s}, index, freq, baseline).get(target) for s in SETTINGS}
        in_year = {s: 0.0 if e is None else float(e[e.index.year == year].sum()) for s, e in effects.items()}
        numbers = "; ".join(f"{n} {f.low:g}/{f.central:g}/{f.high:g} {f.unit}" for n, f in lever.factors.items())
        sources = sorted(
            {src.text() for f in lever.factors.values() for src in f.sources}
            | {src.text() for src in lever.path_sources}
        )
        rows.append(
            {
                "lever": name,
                "flow": lever.flow,
                "form": lever.form,
                "low": in_year["low"],
                "central": in_year["central"],
                "high": in_year["high"],
                "numbers": numbers,
                "path": ", ".join(f"{p.year}: {p.share:g}" for p in lever.path),
                "sources": " | ".join(sources),
            }
        )
    return pd.DataFrame(rows, columns=["lever", "flow", "form", "low", "central", "high", "numbers", "path", "sources"])


def check_levers(levers: dict[str, Lever], scenarios: dict, targets: list[str], last_year: int, where: str) -> None:
    """Every lever a scenario turns fits the study: its series are projected, its path ends in time."""
    for name in sorted({n for s in scenarios.values() for n in s.levers}):
        levers[name].check_for(targets, last_year, where)
