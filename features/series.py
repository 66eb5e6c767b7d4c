"""Series catalogue: ids -> time series built from the snapshot (configs/series.yaml).

Base series read one (item, flow) of the BOJ monthly snapshot. Derived series are sums of other
series, computed here from their parts; a month with any part missing is missing (no partial
sums). Quarterly / annual values are sums of months and exist only for complete periods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from features.errors import ConfigError, UnknownSeriesError
from features.schemas import BOJ_ITEMS, FLOWS
from features.snapshot import Snapshot
from features.yaml_settings import load_settings

DEFAULT_CATALOG_PATH = Path(__file__).resolve().parents[1] / "configs" / "series.yaml"

# Accepted frequencies -> months per period. pandas spells the quarter/year starts QS-JAN/YS-JAN.
FREQ_MONTHS = {"MS": 1, "QS": 3, "QS-JAN": 3, "YS": 12, "YS-JAN": 12}

Item = Literal[BOJ_ITEMS]  # type: ignore[valid-type]
Flow = Literal[FLOWS]  # type: ignore[valid-type]


class BaseSeries(BaseModel):
    """One (item, flow) of the BOJ monthly snapshot."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Literal["boj_monthly"]
    item: Item
    flow: Flow
    label: str = Field(min_length=1)
    label_ja: str = Field(min_length=1)


class SumSeries(BaseModel):
    """Sum of other catalogue series (month by month, NaN if any part is NaN)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sum: list[str] = Field(min_length=2)
    label: str = Field(min_length=1)
    label_ja: str = Field(min_length=1)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "sum" if "sum" in value else "base"
    return "sum" if isinstance(value, SumSeries) else "base"


SeriesSpec = Annotated[Annotated[BaseSeries, Tag("base")] | Annotated[SumSeries, Tag("sum")], Discriminator(_kind)]


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    series: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")], SeriesSpec] = Field(min_length=1)


def _check_graph(specs: dict[str, BaseSeries | SumSeries], where: str) -> None:
    """Every part exists, no part repeats within a sum, and sums do not refer back to themselves."""
    for sid, spec in specs.items():
        if isinstance(spec, SumSeries):
            for part in spec.sum:
                if part not in specs:
                    raise ConfigError(f"{where}: series '{sid}' sums unknown series '{part}'")
            if len(set(spec.sum)) != len(spec.sum):
                raise ConfigError(f"{where}: series '{sid}' lists a part twice")

    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(sid: str, path: list[str]) -> None:
        if state.get(sid) == 2:
            return
        if state.get(sid) == 1:
            cycle = path[path.index(sid) :] + [sid]
            raise ConfigError(f"{where}: cycle in derived series: {' -> '.join(cycle)}")
        state[sid] = 1
        spec = specs[sid]
        if isinstance(spec, SumSeries):
            for part in spec.sum:
                visit(part, [*path, sid])
        state[sid] = 2

    for sid in sorted(specs):
        visit(sid, [])


def _trim(s: pd.Series) -> pd.Series:
    """Drop leading and trailing NaN; internal gaps stay as NaN rows."""
    first, last = s.first_valid_index(), s.last_valid_index()
    if first is None:
        return s.iloc[:0]
    return s.loc[first:last]


def _empty(freq: str, name: str) -> pd.Series:
    index = pd.DatetimeIndex([], dtype="datetime64[us]", freq=freq, name="ds")
    return pd.Series([], index=index, dtype=float, name=name)


def normalize_freq(freq: str) -> str:
    """'MS' | 'QS' | 'YS' (also 'QS-JAN', 'YS-JAN'); anything else is a ConfigError."""
    if freq not in FREQ_MONTHS:
        raise ConfigError(f"unsupported freq '{freq}'; use one of MS, QS, YS")
    return freq.split("-")[0]


def aggregate_sum(monthly: pd.Series, freq: str) -> pd.Series:
    """Sum months into quarters/years; NaN unless every month of the period is present."""
    freq = normalize_freq(freq)
    if freq == "MS" or monthly.empty:
        return monthly if freq == "MS" else _empty(freq, str(monthly.name))
    n = FREQ_MONTHS[freq]
    # min_count=n: a period has at most n months, so n values means all months are there.
    out = monthly.resample(freq).sum(min_count=n)
    out.index.name = "ds"
    return _trim(out.rename(monthly.name))


class SeriesCatalog:
    """Validated catalogue. Build series with :meth:`build`."""

    def __init__(self, specs: dict[str, BaseSeries | SumSeries], path: Path | None = None) -> None:
        self._specs = dict(specs)
        self.path = path

    def ids(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, series_id: str) -> BaseSeries | SumSeries:
        if series_id not in self._specs:
            raise UnknownSeriesError(f"unknown series '{series_id}'; known: {', '.join(self.ids())}")
        return self._specs[series_id]

    def label(self, series_id: str, lang: str = "en") -> str:
        spec = self.spec(series_id)
        return spec.label_ja if lang == "ja" else spec.label

    def parts(self, series_id: str) -> list[str]:
        """Direct parts of a derived series ([] for a base series)."""
        spec = self.spec(series_id)
        return list(spec.sum) if isinstance(spec, SumSeries) else []

    def source_vintage(self, snapshot: Snapshot, series_id: str) -> str:
        """Newest vintage among the figures a series is built from (its data's as-of date)."""
        spec = self.spec(series_id)
        if isinstance(spec, SumSeries):
            return max(self.source_vintage(snapshot, part) for part in spec.sum)
        frame = snapshot.boj_monthly
        rows = frame[(frame["item"] == spec.item) & (frame["flow"] == spec.flow)]
        return str(rows["vintage"].max()) if len(rows) else ""

    def _monthly(self, snapshot: Snapshot, series_id: str) -> pd.Series:
        """Monthly series on a regular MS grid over its own span (untrimmed gaps kept as NaN)."""
        spec = self.spec(series_id)
        if isinstance(spec, BaseSeries):
            frame = snapshot.boj_monthly
            rows = frame[(frame["item"] == spec.item) & (frame["flow"] == spec.flow)]
            if rows.empty:
                return _empty("MS", series_id)
            values = pd.Series(rows["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["ds"]))
            grid = pd.date_range(values.index.min(), values.index.max(), freq="MS", name="ds")
            return values.sort_index().reindex(grid).rename(series_id)
        parts = [self._monthly(snapshot, part) for part in spec.sum]
        spans = [p for p in parts if not p.empty]
        if not spans:
            return _empty("MS", series_id)
        start = min(p.index.min() for p in spans)
        end = max(p.index.max() for p in spans)
        grid = pd.date_range(start, end, freq="MS", name="ds")
        aligned = pd.concat([p.reindex(grid) for p in parts], axis=1)
        # skipna=False: one missing part makes the month missing (no partial sums).
        return aligned.sum(axis=1, skipna=False).rename(series_id)

    def build(self, snapshot: Snapshot, series_id: str, freq: str = "MS") -> pd.Series:
        """The series at ``freq`` (MS monthly; QS, YS sums of complete periods), trimmed."""
        freq = normalize_freq(freq)
        monthly = _trim(self._monthly(snapshot, series_id))
        out = aggregate_sum(monthly, freq)
        if out.empty:
            return _empty(freq, series_id)
        if out.index.freq is None:  # a regular grid always has one; keep it explicit for models
            out = out.asfreq(freq)
        out.index.name = "ds"
        return out.rename(series_id)


def _without_union_tag(loc):
    parts = [str(p) for p in loc]
    if len(parts) >= 3 and parts[0] == "series" and parts[2] in ("base", "sum"):
        del parts[2]  # the union tag pydantic adds is noise for the reader
    return parts


def load_catalog(path: Path) -> SeriesCatalog:
    """Read and validate a catalogue YAML; any problem is one ConfigError line."""
    parsed = load_settings(path, CatalogFile, "a 'series:' mapping", _without_union_tag)
    _check_graph(dict(parsed.series), str(path))
    return SeriesCatalog(dict(parsed.series), Path(path))


def build_panel(snapshot: Snapshot, catalog: SeriesCatalog, series_ids: list[str], freq: str = "MS") -> pd.DataFrame:
    """Long panel (unique_id, ds, y), sorted; each series over its own span, gaps as NaN rows."""
    frames = []
    for sid in sorted(dict.fromkeys(series_ids)):
        s = catalog.build(snapshot, sid, freq)
        frames.append(pd.DataFrame({"unique_id": sid, "ds": s.index.to_numpy(), "y": s.to_numpy(dtype=float)}))
    if not frames:
        return pd.DataFrame(
            {"unique_id": pd.Series([], dtype=str), "ds": pd.Series([], dtype="datetime64[us]"), "y": []}
        )
    panel = pd.concat(frames, ignore_index=True)
    panel["unique_id"] = panel["unique_id"].astype(str)
    return panel.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
