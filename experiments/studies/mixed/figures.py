"""Every official figure of a series as a sum over a window of months, for mixed-frequency models.

A target of the annual catalogue (``kind: official``, e.g. ``digital_mof3.balance``) has monthly
figures (its ``monthly`` catalogue series, BOJ months to 2017-03 or whatever a newer vintage
holds) and published totals in ``digital_annual`` at several frequencies: calendar years (``A``),
fiscal years (``FY``, April-March), calendar halves (``H``), fiscal halves (``FH``) and
year-to-date sums (``YTD``). Each becomes one row ``start, months, value, sd``; one figure per
period is kept by the catalogue's preference rule (tiers, then newest vintage), and a total whose
every month is itself a monthly figure is dropped (it would count those months twice).

``sd`` is the figure's rounding: a figure from a source of the ``exact_release`` tier (or a
month of the BOJ file) is exact to 1 億円; any other is taken to be rounded to the largest power of
ten (at most 1,000 億円 = 0.1兆円) that divides it, e.g. 約6.7兆円 -> -67,000 +/- 500.

``as_of``: only figures published by then (their vintage), for leakage-free origins.
"""

from __future__ import annotations

import pandas as pd

from features.annual import AnnualCatalog, OfficialSeries
from features.errors import ConfigError
from features.series import BaseSeries, SeriesCatalog
from features.snapshot import Snapshot
from forecast.temporal.windows import check_windows, redundant, rounding_sd

EXACT_TIER = "exact_release"
WINDOW_FRAME_COLUMNS = ["label", "kind", "start", "months", "value", "sd", "source_id", "vintage"]


def period_window(period: str, frequency: str) -> tuple[pd.Timestamp, int]:
    """First month and length of a period code of ``digital_annual``."""
    if frequency == "A":
        return pd.Timestamp(f"{int(period)}-01-01"), 12
    if frequency == "FY":
        return pd.Timestamp(f"{int(period[2:6])}-04-01"), 12
    if frequency == "H":
        year, half = int(period[:4]), int(period[-1])
        return pd.Timestamp(f"{year}-{1 if half == 1 else 7:02d}-01"), 6
    if frequency == "FH":
        year, half = int(period[2:6]), int(period[-1])
        return (pd.Timestamp(f"{year}-04-01"), 6) if half == 1 else (pd.Timestamp(f"{year}-10-01"), 6)
    if frequency == "YTD":
        first, last = (pd.Period(p, "M") for p in period.split(".."))
        return first.to_timestamp(), (last - first).n + 1
    raise ConfigError(f"period '{period}' has an unknown frequency '{frequency}'")


def rounding_step(value: float, exact: bool) -> float:
    if exact:
        return 1.0
    step = 1.0
    while step < 1000 and value != 0 and float(value) % (step * 10) == 0:
        step *= 10
    return step


def figure_windows(
    snapshot: Snapshot,
    catalog: AnnualCatalog,
    target: str,
    as_of: pd.Timestamp | None = None,
    months_until: pd.Timestamp | None = None,
    hide_months: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    monthly: pd.Series | None = None,
    provenance: dict[pd.Timestamp, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """The windows of ``target`` (columns :data:`WINDOW_FRAME_COLUMNS`), validated and sorted.

    ``months_until``: monthly figures after this month are left out (pseudo-real-time origins
    inside the monthly file, whose one vintage postdates them). ``hide_months``: (first, last)
    months whose monthly figures are left out (the disaggregation test); totals over them stay.
    ``monthly``, ``provenance``: the target's monthly catalogue series and its
    :func:`monthly_provenance`, when the caller has built them already.
    """
    spec = catalog.spec(target)
    if not isinstance(spec, OfficialSeries) or spec.monthly is None:
        raise ConfigError(
            f"series '{target}' has no monthly and published figures to combine (kind official with monthly)"
        )
    rows = _monthly_rows(snapshot, catalog, spec, as_of, months_until, hide_months, monthly, provenance)
    rows += _published_rows(snapshot, catalog, spec, as_of)
    if not rows:
        return pd.DataFrame(columns=[*WINDOW_FRAME_COLUMNS, "end"])
    frame = pd.DataFrame(rows)
    if months_until is not None:
        frame = frame[(frame["months"] == 1) | (frame["start"] + pd.to_timedelta(0, "D") <= pd.Timestamp(months_until))]
        ends = frame["start"].dt.to_period("M") + (frame["months"] - 1)
        frame = frame[ends.dt.to_timestamp() <= pd.Timestamp(months_until)]
    # a total of months that are all monthly figures adds nothing (and counts them twice)
    frame = frame[~redundant(frame).to_numpy()]
    # the same window from two frequencies (a calendar half that is also a YTD sum): keep one
    frame = frame.drop_duplicates(["start", "months"], keep="first")
    checked = check_windows(frame[["start", "months", "value", "sd"]])
    extra = frame.set_index(["start", "months"])[["label", "kind", "source_id", "vintage"]]
    out = checked.join(extra, on=["start", "months"])
    return out[[*WINDOW_FRAME_COLUMNS, "end"]].reset_index(drop=True)


def _monthly_rows(snapshot, catalog, spec, as_of, months_until, hide_months, monthly, provenance) -> list[dict]:
    """The target's monthly figures as one-month windows, as known at ``as_of`` (see figure_windows)."""
    monthly = (catalog.monthly.build(snapshot, spec.monthly) if monthly is None else monthly).dropna()
    vintage = catalog.monthly.source_vintage(snapshot, spec.monthly)
    if as_of is not None and vintage and pd.Timestamp(vintage) > pd.Timestamp(as_of) and months_until is None:
        monthly = monthly.iloc[:0]
    if months_until is not None:
        monthly = monthly[monthly.index <= pd.Timestamp(months_until)]
    if hide_months is not None:
        first, last = (pd.Timestamp(m) for m in hide_months)
        monthly = monthly[(monthly.index < first) | (monthly.index > last)]
    if provenance is None:
        provenance = monthly_provenance(snapshot, catalog.monthly, spec.monthly)
    rows = []
    for ds, value in monthly.items():
        source, month_vintage = provenance.get(ds, ("monthly:" + spec.monthly, vintage))
        rows.append(
            {
                "label": f"{ds:%Y-%m}",
                "kind": "M",
                "start": ds,
                "months": 1,
                "value": float(value),
                "sd": rounding_sd(1.0),
                "source_id": source,
                "vintage": month_vintage,
            }
        )
    return rows


def _published_rows(snapshot, catalog, spec, as_of) -> list[dict]:
    """The published totals (annual, half, fiscal, year-to-date) of the target known at ``as_of``,
    each with its rounding as its measurement sd."""
    exact_sources = set(dict(catalog.tiers).get(EXACT_TIER, []))
    published = snapshot.digital_annual
    published = published[(published["item"] == spec.item) & (published["flow"] == spec.flow)]
    if as_of is not None:
        published = published[pd.to_datetime(published["vintage"]) <= pd.Timestamp(as_of)]
    rows = []
    for frequency, group in published.groupby("frequency", sort=True):
        for _, row in catalog.choose(group).iterrows():
            start, months = period_window(str(row["period"]), str(frequency))
            value = float(row["value"])
            step = rounding_step(value, row["source_id"] in exact_sources)
            rows.append(
                {
                    "label": str(row["period"]),
                    "kind": str(frequency),
                    "start": start,
                    "months": months,
                    "value": value,
                    "sd": rounding_sd(step),
                    "source_id": row["source_id"],
                    "vintage": row["vintage"],
                }
            )
    return rows


def monthly_provenance(
    snapshot: Snapshot, monthly: SeriesCatalog, series_id: str
) -> dict[pd.Timestamp, tuple[str, str]]:
    """Per month of a catalogue series: the source ids of its parts' figures (joined with '+' when
    they differ) and the newest of their vintages, so months from a fetched vintage and months of
    the bundled file are told apart."""
    bases, stack = [], [series_id]
    while stack:
        sid = stack.pop()
        parts = monthly.parts(sid)
        if parts:
            stack.extend(parts)
        else:
            spec = monthly.spec(sid)
            assert isinstance(spec, BaseSeries)  # a series without parts is a base series
            bases.append(spec)
    frame = snapshot.boj_monthly
    keys = {(b.item, b.flow) for b in bases}
    rows = frame[[(i, f) in keys for i, f in zip(frame["item"], frame["flow"])]]
    vintage = rows.groupby("ds")["vintage"].max()
    sources = (
        rows.drop_duplicates(["ds", "source_id"]).sort_values("source_id").groupby("ds")["source_id"].agg("+".join)
    )
    return {pd.Timestamp(ds): (sources[ds], str(vintage[ds])) for ds in vintage.index}
