"""What a connector hands to the vintage store: validated figures plus where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd

from features.errors import DataValidationError

# Source kinds and their titles (also the lineage title of a vintage in the snapshot).
SOURCE_TITLES = {
    "boj_api": "BOJ Time-Series Data Search API (getDataCode)",
    "boj_flat": "BOJ Time-Series Data Search bulk file (BP, monthly)",
    "mof_csv": "MOF 国際収支の推移 サービス収支 monthly (6s-2-4)",
}


@dataclass(frozen=True)
class Intake:
    figures: pd.DataFrame  # validated: period, item, flow, value, unit
    source: str  # a key of SOURCE_TITLES
    origin: str  # URL or file name
    as_of: str  # ISO 8601 time stamp: when these figures were the published state
    raw: dict[str, bytes] = field(default_factory=dict)  # inputs as received, kept with the vintage
    details: dict = field(default_factory=dict)  # e.g. BOJ codes used, rows skipped


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_as_of(text: str) -> str:
    """ISO date or date-time -> ISO date-time (a bare date is read as 00:00 UTC)."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DataValidationError(f"as-of {text!r} is not an ISO date (YYYY-MM-DD) or date-time") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.isoformat(timespec="seconds")


def user_as_of(text: str | None) -> str:
    """An as-of given on the command line (default: now); a time in the future is refused."""
    if not text:
        return now_iso()
    stamp = parse_as_of(text)
    if datetime.fromisoformat(stamp) > datetime.now(UTC):
        raise DataValidationError(f"as-of {text!r} is in the future; give the date the file was published")
    return stamp


def as_of_date(as_of: str) -> date:
    return datetime.fromisoformat(as_of).date()


def as_of_month(as_of: str) -> str:
    return as_of_date(as_of).strftime("%Y-%m")
