"""Annual series from every official figure the snapshot holds (configs/annual_series.yaml).

Three kinds of series:

* ``official``: the calendar-year totals of ``digital_annual`` (frequency ``A``), one figure per
  year chosen by the SOURCES.md preference rule (tiers in the YAML, then newest vintage); years
  whose twelve months are all in the BOJ monthly snapshot are instead the sum of those months.
* ``wdi_yen``: a WDI US$ series converted to 億円 at the year's average USD/JPY.
* ``monthly_sum``: a monthly catalogue series summed by calendar year (complete years only).

Every year of a built series names its source and vintage. Nothing is interpolated: the series
runs on a regular annual grid from its first to its last figure and a year without one is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Discriminator, Field, Tag

from features.errors import ConfigError, UnknownSeriesError
from features.exog import fx_at_freq, usdjpy_monthly
from features.schemas import DIGITAL_ANNUAL_ITEMS, FLOWS, WDI_ITEMS
from features.series import SeriesCatalog
from features.snapshot import Snapshot
from features.yaml_settings import StrictSettings, load_settings

DEFAULT_ANNUAL_CATALOG_PATH = Path(__file__).resolve().parents[1] / "configs" / "annual_series.yaml"
ANNUAL_FREQ = "YS"
MONTHLY_SUM_SOURCE = "BOJ_BP_M_JP_2017"  # the monthly file the sums come from
_ID_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"


class OfficialSeries(StrictSettings):
    kind: Literal["official"]
    item: Literal[DIGITAL_ANNUAL_ITEMS]  # type: ignore[valid-type]
    flow: Literal[FLOWS]  # type: ignore[valid-type]
    monthly: str | None = None  # catalogue series whose complete calendar years take precedence
    label: str = Field(min_length=1)
    label_ja: str = Field(min_length=1)


class WdiYenSeries(StrictSettings):
    kind: Literal["wdi_yen"]
    item: Literal[WDI_ITEMS]  # type: ignore[valid-type]
    flow: Literal[FLOWS]  # type: ignore[valid-type]
    label: str = Field(min_length=1)
    label_ja: str = Field(min_length=1)


class MonthlySumSeries(StrictSettings):
    kind: Literal["monthly_sum"]
    monthly: str
    label: str = Field(min_length=1)
    label_ja: str = Field(min_length=1)


AnnualSpec = Annotated[
    Annotated[OfficialSeries, Tag("official")]
    | Annotated[WdiYenSeries, Tag("wdi_yen")]
    | Annotated[MonthlySumSeries, Tag("monthly_sum")],
    Discriminator(lambda v: v.get("kind") if isinstance(v, dict) else getattr(v, "kind", None)),
]


class AnnualCatalogFile(StrictSettings):
    preference: dict[str, list[str]] = Field(min_length=1)
    series: dict[Annotated[str, Field(pattern=_ID_PATTERN)], AnnualSpec] = Field(min_length=1)


@dataclass(frozen=True)
class AnnualSeries:
    """Values on a regular YS grid plus, per year, the source id and vintage of the figure."""

    values: pd.Series
    source_id: pd.Series
    vintage: pd.Series


class AnnualCatalog:
    def __init__(self, parsed: AnnualCatalogFile, monthly: SeriesCatalog, path: Path | None = None) -> None:
        self._specs = dict(parsed.series)
        self.monthly = monthly
        self.path = path
        self.tiers: list[tuple[str, list[str]]] = list(parsed.preference.items())
        self._rank = {sid: (i, name) for i, (name, ids) in enumerate(self.tiers) for sid in ids}

    def ids(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, series_id: str):
        if series_id not in self._specs:
            raise UnknownSeriesError(f"unknown annual series '{series_id}'; known: {', '.join(self.ids())}")
        return self._specs[series_id]

    def label(self, series_id: str, lang: str = "en") -> str:
        spec = self.spec(series_id)
        return spec.label_ja if lang == "ja" else spec.label

    # ---- building --------------------------------------------------------------------------
    def build(self, snapshot: Snapshot, series_id: str) -> AnnualSeries:
        spec = self.spec(series_id)
        if isinstance(spec, OfficialSeries):
            pieces = self._official(snapshot, spec)
        elif isinstance(spec, WdiYenSeries):
            pieces = self._wdi_yen(snapshot, spec)
        else:
            pieces = self._monthly_years(snapshot, spec.monthly)
        return _on_grid(pieces, series_id)

    def _monthly_years(self, snapshot: Snapshot, monthly_id: str) -> pd.DataFrame:
        """Complete calendar years of a monthly catalogue series (NaN years dropped here)."""
        annual = self.monthly.build(snapshot, monthly_id, ANNUAL_FREQ).dropna()
        vintage = self.monthly.source_vintage(snapshot, monthly_id)
        return pd.DataFrame(
            {"value": annual.to_numpy(), "source_id": f"{MONTHLY_SUM_SOURCE} (sum of months)", "vintage": vintage},
            index=annual.index,
        )

    def _official(self, snapshot: Snapshot, spec: OfficialSeries) -> pd.DataFrame:
        rows = snapshot.digital_annual
        rows = rows[(rows["frequency"] == "A") & (rows["item"] == spec.item) & (rows["flow"] == spec.flow)]
        chosen = self.choose(rows)
        published = pd.DataFrame(
            {
                "value": chosen["value"].astype(float).to_numpy(),
                "source_id": chosen["source_id"].to_numpy(),
                "vintage": chosen["vintage"].to_numpy(),
            },
            index=pd.DatetimeIndex(pd.to_datetime(chosen["period"], format="%Y"), name="ds"),
        )
        if spec.monthly is None:
            return published
        summed = self._monthly_years(snapshot, spec.monthly)
        # The and SOURCES.md's rule: the years the monthly file covers come from it.
        return pd.concat([summed, published[~published.index.isin(summed.index)]]).sort_index()

    def choose(self, rows: pd.DataFrame) -> pd.DataFrame:
        """One row per period: best preference tier, then newest vintage (then source id)."""
        unranked = sorted(set(rows["source_id"]) - set(self._rank))
        if unranked:
            raise ConfigError(f"{self.path}: source '{unranked[0]}' is in no preference tier")
        if rows.empty:
            return rows
        ranked = rows.assign(_tier=rows["source_id"].map(lambda s: self._rank[s][0]))
        ranked = ranked.sort_values(["period", "_tier", "vintage", "source_id"], ascending=[True, True, False, True])
        return ranked.drop_duplicates("period").drop(columns="_tier")

    def _wdi_yen(self, snapshot: Snapshot, spec: WdiYenSeries) -> pd.DataFrame:
        wdi = snapshot.wdi_annual[snapshot.wdi_annual["item"] == spec.item]
        rate = fx_at_freq(usdjpy_monthly(snapshot), ANNUAL_FREQ)

        def yen(flow: str) -> pd.DataFrame:
            rows = wdi[wdi["flow"] == flow]
            ds = pd.DatetimeIndex(pd.to_datetime(rows["period"], format="%Y"), name="ds")
            usd = pd.Series(rows["value"].astype(float).to_numpy(), index=ds)
            # US$ x (yen per US$) / 1e8 = 億円; a year without a full-year average rate is missing.
            value = usd * rate.reindex(ds) / 1e8
            return pd.DataFrame(
                {"value": value, "source_id": rows["source_id"].to_numpy(), "vintage": rows["vintage"].to_numpy()},
                index=ds,
            )

        if spec.flow != "balance":
            return yen(spec.flow).dropna(subset=["value"])
        receipts, payments = yen("receipts"), yen("payments")
        both = receipts.join(payments, suffixes=("_r", "_p"), how="inner")
        return pd.DataFrame(
            {
                "value": both["value_r"] - both["value_p"],  # NaN if either side is missing
                "source_id": both["source_id_r"] + "-" + both["source_id_p"],
                "vintage": np.maximum(both["vintage_r"], both["vintage_p"]),
            },
            index=both.index,
        ).dropna(subset=["value"])


def _on_grid(pieces: pd.DataFrame, series_id: str) -> AnnualSeries:
    if pieces.empty:
        empty = pd.Series([], index=pd.DatetimeIndex([], name="ds", freq=ANNUAL_FREQ), dtype=float, name=series_id)
        return AnnualSeries(empty, empty.astype(object), empty.astype(object))
    grid = pd.date_range(pieces.index.min(), pieces.index.max(), freq=ANNUAL_FREQ, name="ds")
    pieces = pieces.reindex(grid)
    return AnnualSeries(
        values=pieces["value"].astype(float).rename(series_id),
        source_id=pieces["source_id"].rename(series_id),
        vintage=pieces["vintage"].rename(series_id),
    )


def load_annual_catalog(path: Path | None, monthly: SeriesCatalog) -> AnnualCatalog:
    """Read and validate the annual catalogue; any problem is one ConfigError line."""
    path = Path(path) if path is not None else DEFAULT_ANNUAL_CATALOG_PATH
    parsed = load_settings(
        path,
        AnnualCatalogFile,
        "a mapping with 'preference' and 'series'",
        lambda loc: [p for p in loc if p not in ("official", "wdi_yen", "monthly_sum")],  # union tags
    )
    seen: dict[str, str] = {}
    for tier, ids in parsed.preference.items():
        for sid in ids:
            if sid in seen:
                raise ConfigError(f"{path}: source '{sid}' is in tiers '{seen[sid]}' and '{tier}'")
            seen[sid] = tier
    for sid, spec in parsed.series.items():
        monthly_id = getattr(spec, "monthly", None)
        if monthly_id is not None and monthly_id not in monthly.ids():
            raise ConfigError(f"{path}: series '{sid}' refers to unknown monthly series '{monthly_id}'")
    return AnnualCatalog(parsed, monthly, path)


def build_annual_panel(
    snapshot: Snapshot, catalog: AnnualCatalog, series_ids: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long panel (unique_id, ds, y) of the annual series and their provenance
    (unique_id, ds, source_id, vintage), each series over its own span with gaps as NaN rows."""
    frames, lineage = [], []
    for sid in sorted(dict.fromkeys(series_ids)):
        built = catalog.build(snapshot, sid)
        ds = built.values.index.to_numpy()
        frames.append(pd.DataFrame({"unique_id": sid, "ds": ds, "y": built.values.to_numpy(dtype=float)}))
        lineage.append(
            pd.DataFrame(
                {
                    "unique_id": sid,
                    "ds": ds,
                    "source_id": built.source_id.to_numpy(),
                    "vintage": built.vintage.to_numpy(),
                }
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    panel["unique_id"] = panel["unique_id"].astype(str)
    provenance = pd.concat(lineage, ignore_index=True)
    return panel, provenance.dropna(subset=["source_id"]).reset_index(drop=True)
