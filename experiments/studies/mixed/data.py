"""Inputs of a mixed-frequency study, built and checked before the refresh writes anything.

Each target's figures as windows (features/figure_windows.py), the monthly indicators as
published (USD/JPY, the BOJ services total) with the day each month became known, the seasonal
profile series, the scenarios and a fingerprint of every settings file the study reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from experiments.levers import Lever, check_levers
from experiments.scenarios import Scenario, load_scenarios, scenario_files, scenario_levers
from experiments.studies.mixed.config import MixedStudyConfig
from experiments.studies.mixed.figures import figure_windows, monthly_provenance
from features.annual import DEFAULT_ANNUAL_CATALOG_PATH, AnnualCatalog, load_annual_catalog
from features.errors import ConfigError
from features.exog import services_total_monthly, usdjpy_monthly
from features.series import SeriesCatalog
from features.snapshot import Snapshot
from forecast.temporal.profile import seasonal_factors

# Days after a month ends until its value is published: USD/JPY the next day; BoP months with
# the first preliminary release, the 6th business day of the month after next (~40 days).
KNOWN_AFTER_DAYS = {"usdjpy": 1, "services_total": 45}
# Indicators derived from a published series: (series, months of the trailing mean). The 12-month
# mean of the services total carries its level (the digital flows are part of it) without the
# monthly pattern of travel and transport, which is not the digital items' pattern.
DERIVED = {"services_total_12m": ("services_total", 12)}
# Annual indicators, as a monthly step (a twelfth of the year's value in each month): every month
# of a year becomes known this many days after the year ends (WDI's BoP data: mid next year).
ANNUAL_KNOWN_AFTER_DAYS = {"wdi_ip_payments": 182}


@dataclass
class MixedData:
    snapshot: Snapshot
    catalog: AnnualCatalog
    windows: dict[str, pd.DataFrame]  # every figure of each target, as published now
    indicators: dict[str, pd.Series]  # monthly, as published
    scenarios: dict[str, Scenario]
    fingerprint: str
    monthly: dict[str, pd.Series] = field(default_factory=dict)  # each target's monthly series, built once

    provenance: dict[str, dict] = field(default_factory=dict)
    levers: dict[str, Lever] = field(default_factory=dict)

    def _built(self, uid: str) -> dict:
        """The target's monthly series and the source/vintage of each month, built once."""
        if uid not in self.monthly:
            name = self.catalog.spec(uid).monthly
            self.monthly[uid] = self.catalog.monthly.build(self.snapshot, name)
            self.provenance[uid] = monthly_provenance(self.snapshot, self.catalog.monthly, name)
        return {"monthly": self.monthly[uid], "provenance": self.provenance[uid]}

    def windows_at(self, uid: str, year: int, publication_month: int) -> pd.DataFrame:
        """Figures of ``uid`` for periods through December ``year`` as known at the end of month
        ``publication_month`` of the next year (monthly BOJ figures through December ``year``:
        the file's one vintage postdates them, so its months count as pseudo-real-time)."""
        as_of = pd.Timestamp(f"{year + 1}-{publication_month:02d}-01") + pd.offsets.MonthEnd(0)
        return figure_windows(
            self.snapshot,
            self.catalog,
            uid,
            as_of=as_of,
            months_until=pd.Timestamp(f"{year}-12-01"),
            **self._built(uid),
        )

    def hidden_windows(self, uid: str, first: str, last: str) -> pd.DataFrame:
        return figure_windows(
            self.snapshot, self.catalog, uid, hide_months=(pd.Timestamp(first), pd.Timestamp(last)), **self._built(uid)
        )

    def totals(self, uid: str) -> pd.DataFrame:
        """Every published total of ``uid`` (monthly figures left out, so none is redundant)."""
        far = (pd.Timestamp("1900-01-01"), pd.Timestamp("2100-12-01"))
        return figure_windows(self.snapshot, self.catalog, uid, hide_months=far, **self._built(uid))

    def indicator_frame(
        self, names: list[str], first: pd.Timestamp, last: pd.Timestamp, as_of: pd.Timestamp | None = None
    ) -> pd.DataFrame | None:
        """Monthly indicator values from ``first`` to ``last``: as known at ``as_of`` (default:
        everything published), then the last known value carried forward (a random walk's
        forecast). Nothing is filled inside the published span."""
        if not names:
            return None
        grid = pd.date_range(first, last, freq="MS", name="ds")
        columns = {}
        for name in names:
            base, window = DERIVED.get(name, (name, 1))
            series = self.indicators[base].dropna()
            if as_of is not None:
                if base in ANNUAL_KNOWN_AFTER_DAYS:
                    known = series.index + pd.offsets.YearEnd(0) + pd.Timedelta(days=ANNUAL_KNOWN_AFTER_DAYS[base])
                else:
                    known = series.index + pd.offsets.MonthEnd(0) + pd.Timedelta(days=KNOWN_AFTER_DAYS[base])
                series = series[known <= pd.Timestamp(as_of)]
            if window > 1:  # trailing: each month's value uses only months published by then
                series = series.rolling(window, min_periods=window).mean().dropna()
            if series.empty or series.index[0] > grid[0]:
                raise ConfigError(f"indicator '{name}' has no value for {grid[0]:%Y-%m}")
            inside = series.reindex(grid[grid <= series.index[-1]])
            if inside.isna().any():
                raise ConfigError(f"indicator '{name}' has a gap at {inside.index[inside.isna()][0]:%Y-%m}")
            # carried forward from the last known month, also when that month is before the grid
            columns[name] = series.reindex(series.index.union(grid)).ffill().reindex(grid)
        return pd.DataFrame(columns, index=grid)

    def indicator_start(self, names) -> pd.Timestamp | None:
        """First month every named indicator has a value (derived ones after their window fills)."""
        starts = []
        for name in names:
            base, window = DERIVED.get(name, (name, 1))
            starts.append(self.indicators[base].first_valid_index() + pd.DateOffset(months=window - 1))
        return max(starts) if starts else None

    def profile(
        self, study: MixedStudyConfig, uid: str, before: pd.Timestamp | None = None
    ) -> tuple[float, ...] | None:
        """Seasonal factors from the target's profile series (months before ``before``), for fits
        whose own monthly figures are too few; ``None`` when there is none or it cannot give one."""
        name = study.profile_series.get(uid)
        if name is None:
            return None
        monthly = self.catalog.monthly.build(self.snapshot, name)
        if before is not None:
            monthly = monthly[monthly.index < pd.Timestamp(before)]
        factors = seasonal_factors(monthly)
        return None if factors is None else tuple(float(f) for f in factors)


def annual_as_monthly_step(annual: pd.Series) -> pd.Series:
    """A calendar-year series (YS index) as months holding a twelfth of their year's value."""
    annual = annual.dropna()
    months = pd.date_range(annual.index.min(), annual.index.max() + pd.DateOffset(months=11), freq="MS", name="ds")
    return (annual.reindex(months, method="ffill") / 12.0).rename(annual.name)


def own_months(windows: pd.DataFrame) -> int:
    return int((windows["months"] == 1).sum())


def prepare_mixed(snapshot: Snapshot, monthly_catalog: SeriesCatalog, study: MixedStudyConfig) -> MixedData:
    catalog = load_annual_catalog(study.series_catalog, monthly_catalog)
    for name in study.profile_series.values():
        monthly_catalog.spec(name)  # unknown ids fail here
    indicators = {
        "usdjpy": usdjpy_monthly(snapshot),
        "services_total": services_total_monthly(snapshot),
        "wdi_ip_payments": annual_as_monthly_step(catalog.build(snapshot, "wdi_ip_charges.payments").values),
    }
    files = [study.series_catalog or DEFAULT_ANNUAL_CATALOG_PATH, *scenario_files(study.scenarios_dir)]
    payload = study.model_dump_json() + "".join(Path(f).read_text(encoding="utf-8") for f in files)
    data = MixedData(snapshot, catalog, {}, indicators, {}, hashlib.sha256(payload.encode()).hexdigest())
    for uid in study.targets:  # also fills the per-target cache that the evidence tasks carry along
        frame = figure_windows(snapshot, catalog, uid, **data._built(uid))
        if frame.empty:
            raise ConfigError(f"series '{uid}' has no figure in the snapshot")
        data.windows[uid] = frame
    data.scenarios = load_scenarios(study.scenarios_dir)
    data.levers = scenario_levers(study.scenarios_dir)
    check_levers(data.levers, data.scenarios, study.targets, study.end.year, f"study '{study.name}'")
    for scenario in data.scenarios.values():
        for overlay in scenario.overlays:
            stray = set(overlay.targets) - set(study.targets)
            if stray:
                raise ConfigError(
                    f"scenario '{scenario.name}': overlay '{overlay.name}' names '{sorted(stray)[0]}', "
                    f"which study '{study.name}' does not project"
                )
    return data
