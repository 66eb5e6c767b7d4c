"""Fetch every series of the BOJ catalogue through the API and turn it into validated figures.

Each series is checked against the catalogue before any figure is kept: the name must be the
one the catalogue expects (so a code never silently means something else), the frequency
monthly, and the unit one the catalogue knows. Then the figures go through the same pandera
rules as every other input.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.errors import DataValidationError
from features.sources.boj_api import CREDIT, BojApiClient
from features.sources.boj_catalogue import BojCatalogue, normalize_name, resolve_codes
from features.sources.errors import BojResponseError, SourceError
from features.sources.figures import COLUMNS, is_missing, month_of, validate_figures
from features.sources.intake import Intake, as_of_month, now_iso, parse_as_of

SOURCE = "BOJ API getDataCode"


def fetch_boj(client: BojApiClient, catalogue: BojCatalogue, data_dir: Path) -> Intake:
    def metadata(db: str):
        result = client.get_metadata(db, lang="jp")
        return result.rows, result.date

    codes = resolve_codes(catalogue, data_dir, metadata)
    by_db: dict[str, dict[str, str]] = {}  # db -> code -> series id, in catalogue order
    for sid, entry in catalogue.series.items():
        by_db.setdefault(entry.db, {})[codes[sid].code] = sid

    rows: list[tuple[str, ...]] = []
    raw: dict[str, bytes] = {}
    stamps: list[str] = []
    for db, wanted in by_db.items():
        result = client.get_data_code(db, list(wanted), lang="jp")
        raw.update({r.name: r.body for r in result.responses})
        stamps.append(result.date)
        returned = {s.code for s in result.series}
        absent = [code for code in wanted if code not in returned]
        if absent:
            raise SourceError(f"{SOURCE} {db}: the response has no series {absent[0]} ({wanted[absent[0]]})")
        frequency = catalogue.databases[db].frequency
        for series in result.series:
            sid = wanted[series.code]
            expected = catalogue.series[sid].name_ja
            if normalize_name(series.name) != normalize_name(expected):
                raise DataValidationError(
                    f"{SOURCE} {db}: series {series.code} is named '{series.name}', but {catalogue.path.name} "
                    f"expects '{expected}' for {sid}"
                )
            if series.frequency != frequency:
                raise DataValidationError(
                    f"{SOURCE} {db}: series {series.code}: unexpected frequency {series.frequency or '(none)'} "
                    f"(expected {frequency})"
                )
            unit = catalogue.unit_of(db, series.unit)
            item, flow = catalogue.item_flow(sid)
            rows.extend(
                (month_of(d), item, flow, v, unit, f"{db} {place}")
                for d, v, place in zip(series.dates, series.values, series.places)
                if v is not None and not is_missing(v)
            )

    as_of = _as_of(stamps[0]) if stamps[0] else now_iso()
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "where"], dtype=str)
    figures = validate_figures(frame, SOURCE, as_of_month(as_of))
    details = {
        "credit": CREDIT,
        "codes": {
            sid: {"db": c.db, "code": c.code, "name_ja": c.name_ja, "basis": c.basis} for sid, c in codes.items()
        },
    }
    return Intake(figures, "boj_api", client.base_url, as_of, raw, details)


def _as_of(stamp: str) -> str:
    """The BOJ's DATE of the response is the as-of time of the figures."""
    try:
        return parse_as_of(stamp)
    except DataValidationError:
        raise BojResponseError(f"{SOURCE}: malformed response: DATE {stamp!r} is not an ISO time stamp") from None
