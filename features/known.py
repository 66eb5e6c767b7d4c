"""When each value became known: publication dates and stated lags, and the refusal of late values.

Every driver value used in a backtest carries the date it became known (``known_at``): either its
publication date (the snapshot's ``vintage``) or the end of its period plus a stated lag. A
builder that is given an ``as_of`` date refuses any input known after it (:class:`LeakageError`),
instead of silently using it; callers that want "what was known then" select first with
:func:`known_by`.

Conventions (shared with :mod:`forecast.backtest.exog_modes`):

* a period is named by its start (``ds``, month/quarter/year start); it ends the day before the
  next period starts (:func:`period_end`);
* a value with a lag of ``d`` days is known at ``period_end + d days``;
* a backtest origin whose last training period is ``cutoff`` is dated the first day after that
  period (``as_of = period start after the cutoff``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.errors import DeficitError

# Stated lags (days after the end of the period) used when no publication date is known.
# BoP monthly: the BOJ/MOF first preliminary appears on the 6th business day of the month after
# next (SOURCES.md section 4d), i.e. about six weeks after the month ends.
BOP_MONTHLY_LAG_DAYS = 42
# USD/JPY monthly average (FRED H.10 noon rates): complete once the month's last business day is
# fixed; FRED posts it on the next day.
FX_MONTHLY_LAG_DAYS = 1


class LeakageError(DeficitError):
    """A builder was handed a value that became known after the origin it builds for."""


def period_end(ds: pd.DatetimeIndex | pd.Timestamp, freq: str) -> pd.DatetimeIndex | pd.Timestamp:
    """Last day of the period starting at ``ds`` (``freq``: MS, QS, YS or their -JAN forms)."""
    offset = pd.tseries.frequencies.to_offset(_start_freq(freq))
    return ds + offset - pd.Timedelta(days=1)


def next_period_start(ds: pd.Timestamp, freq: str) -> pd.Timestamp:
    """First day of the period after the one starting at ``ds``: the date of an origin at ``ds``."""
    return ds + pd.tseries.frequencies.to_offset(_start_freq(freq))


def _start_freq(freq: str) -> str:
    base = str(freq).split("-")[0]
    if base not in ("MS", "QS", "YS"):
        raise ValueError(f"unsupported period frequency {freq!r}; use MS, QS or YS")
    return base


@dataclass(frozen=True)
class KnownSeries:
    """Values by period start plus the date each became known (same index)."""

    values: pd.Series
    known_at: pd.Series

    def __post_init__(self) -> None:
        if not self.values.index.equals(self.known_at.index):
            raise ValueError("values and known_at need the same index")

    @property
    def name(self) -> str:
        return str(self.values.name)


def with_lag(values: pd.Series, freq: str, lag_days: int) -> KnownSeries:
    """Stamp every value as known ``lag_days`` after the end of its period."""
    index = pd.DatetimeIndex(values.index)
    known = pd.Series(period_end(index, freq) + pd.Timedelta(days=int(lag_days)), index=values.index)
    return KnownSeries(values, known)


def with_dates(values: pd.Series, known_at: pd.Series | str | pd.Timestamp) -> KnownSeries:
    """Stamp values with explicit publication dates (a series on the same index, or one date)."""
    if not isinstance(known_at, pd.Series):
        known_at = pd.Series(pd.Timestamp(known_at), index=values.index)
    return KnownSeries(values, pd.to_datetime(known_at))


def known_by(series: KnownSeries, as_of: pd.Timestamp) -> KnownSeries:
    """Only the values known on ``as_of`` (a selection: later values are dropped, not altered)."""
    keep = series.known_at <= pd.Timestamp(as_of)
    return KnownSeries(series.values[keep], series.known_at[keep])


def require_known(series: KnownSeries, as_of: pd.Timestamp | None, what: str) -> None:
    """Refuse (LeakageError) if any value of ``series`` became known after ``as_of``."""
    if as_of is None or series.values.empty:
        return
    late = series.known_at > pd.Timestamp(as_of)
    if late.any():
        first = series.known_at[late].index[0]
        raise LeakageError(
            f"{what}: value for {pd.Timestamp(first):%Y-%m-%d} became known on "
            f"{pd.Timestamp(series.known_at[first]):%Y-%m-%d}, after the origin {pd.Timestamp(as_of):%Y-%m-%d}"
        )
