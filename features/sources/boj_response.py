"""BOJ Time-Series Data Search API response bodies -> envelopes, series and metadata rows.

Layouts as documented in shared/data/SOURCES.md section 4a: a JSON envelope (STATUS, MESSAGEID,
MESSAGE, DATE, PARAMETER, NEXTPOSITION, RESULTSET) or, for ``format=csv``, ~11 ``key,value``
lines and then a long table headed ``SERIES_CODE,...``. CSV is Shift-JIS for ``lang=jp`` and
UTF-8 for ``lang=en``; error responses are JSON whatever the format asked for. The API answers
HTTP 200 even on errors: the STATUS in the body decides.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

from features.sources.errors import BojApiError, BojNoDataError, BojResponseError, BojUnknownCodeError

OK = "M181000I"
NO_DATA = "M181030I"
UNKNOWN_CODE = "M181013E"
# What each MESSAGEID means (BOJ API manual, as summarised in the sources of SOURCES.md 4a).
MESSAGES = {
    "M181001E": "invalid input parameters",
    "M181002E": "invalid language",
    "M181003E": "invalid format",
    "M181004E": "no database given",
    "M181005E": "unknown database name",
    "M181006E": "no series code given",
    "M181007E": "too many series codes (a layer path may cover at most 1,250 series)",
    "M181008E": "invalid start date",
    "M181009E": "invalid end date",
    "M181010E": "dates must be years 1850-2050",
    "M181011E": "start date after end date",
    "M181012E": "invalid start position",
    UNKNOWN_CODE: "unknown series code",
    "M181014E": "series codes of different frequencies in one request",
    "M181015E": "start date format does not match the frequency",
    "M181016E": "end date format does not match the frequency",
    "M181017E": "no frequency given",
    "M181018E": "invalid frequency",
    "M181019E": "no layer given (layer 1 is required)",
    "M181020E": "invalid layer specification",
    NO_DATA: "no data for this request",
    "M181090S": "unexpected error on the BOJ server",
    "M181091S": "database access error on the BOJ server",
}
CSV_ENCODING = {"jp": "cp932", "en": "utf-8"}


@dataclass(frozen=True)
class Envelope:
    status: int
    message_id: str
    message: str
    date: str
    next_position: int | None
    results: list[dict] = field(default_factory=list)  # JSON RESULTSET items, or CSV rows (+ "_line")


@dataclass(frozen=True)
class BojSeries:
    code: str
    name: str
    unit: str
    frequency: str
    dates: tuple[str, ...]
    values: tuple[str | None, ...]  # as written in the body; None = no figure
    places: tuple[str, ...]  # where each value sits in the body, for error messages


@dataclass(frozen=True)
class MetadataRow:
    code: str
    name: str
    unit: str
    frequency: str


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _lang_key(row: dict, key: str, lang: str) -> str:
    """NAME_OF_TIME_SERIES / UNIT / CATEGORY carry a ``_J`` suffix in Japanese responses."""
    value = row.get(f"{key}_J" if lang == "jp" else key, row.get(key, row.get(f"{key}_J")))
    return "" if value is None else str(value)


# --- envelopes ---------------------------------------------------------------------------------


def parse_envelope(body: bytes, what: str, lang: str) -> Envelope:
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise BojResponseError(f"{what}: malformed response: empty body")
    if stripped.startswith(b"{"):
        return _json_envelope(stripped, what)
    return _csv_envelope(stripped, what, lang)


def _json_envelope(body: bytes, what: str) -> Envelope:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BojResponseError(f"{what}: malformed response: not valid JSON ({_one_line(err)})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("STATUS"), int) or not isinstance(doc.get("MESSAGEID"), str):
        raise BojResponseError(f"{what}: malformed response: JSON without an integer STATUS and a MESSAGEID")
    next_position = doc.get("NEXTPOSITION")
    if next_position is not None and (not isinstance(next_position, int) or isinstance(next_position, bool)):
        raise BojResponseError(f"{what}: malformed response: NEXTPOSITION {next_position!r} is not an integer")
    results = doc.get("RESULTSET") or []
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise BojResponseError(f"{what}: malformed response: RESULTSET is not a list of objects")
    return Envelope(
        doc["STATUS"],
        doc["MESSAGEID"],
        _one_line(doc.get("MESSAGE", "")),
        str(doc.get("DATE") or ""),
        next_position,
        results,
    )


def _csv_envelope(body: bytes, what: str, lang: str) -> Envelope:
    encoding = CSV_ENCODING.get(lang, "utf-8")
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as err:
        line = body[: err.start].count(b"\n") + 1
        raise BojResponseError(
            f"{what}: malformed response: row {line} is not valid {encoding} (lang={lang} CSV), byte 0x{body[err.start]:02x}"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    meta: dict[str, str] = {}
    header: list[str] | None = None
    results: list[dict] = []
    try:
        for cells in reader:
            if header is None:
                if cells and cells[0] == "SERIES_CODE":
                    header = cells
                elif cells and cells[0] and cells[0] != "PARAMETER":
                    meta[cells[0]] = cells[1] if len(cells) > 1 else ""
                continue
            if any(c.strip() for c in cells):
                results.append({**dict(zip(header, cells)), "_line": reader.line_num})
    except csv.Error as err:
        raise BojResponseError(f"{what}: malformed response: unreadable CSV ({_one_line(err)})") from None
    status, message_id = meta.get("STATUS", ""), meta.get("MESSAGEID", "")
    if not status.isdigit() or not message_id:
        raise BojResponseError(
            f"{what}: malformed response: neither JSON nor the documented CSV (no STATUS/MESSAGEID lines)"
        )
    next_text = meta.get("NEXTPOSITION", "").strip()
    if next_text and not next_text.isdigit():
        raise BojResponseError(f"{what}: malformed response: NEXTPOSITION {next_text!r} is not an integer")
    if int(status) == 200 and message_id == OK and header is None:
        raise BojResponseError(f"{what}: malformed response: CSV without the SERIES_CODE header line")
    return Envelope(
        int(status),
        message_id,
        _one_line(meta.get("MESSAGE", "")),
        meta.get("DATE", ""),
        int(next_text) if next_text else None,
        results,
    )


def raise_for_status(env: Envelope, what: str, codes: list[str] | None = None) -> None:
    """Turn an error STATUS (or 'no data') into a one-line exception; return on success."""
    if env.status == 200 and env.message_id != NO_DATA:
        return
    meaning = MESSAGES.get(env.message_id, "error")
    text = f"{what}: {env.message_id} {meaning} (STATUS {env.status}: {env.message})"
    if env.message_id == NO_DATA:
        raise BojNoDataError(text, status=env.status, message_id=env.message_id)
    if env.message_id == UNKNOWN_CODE:
        # The message names the position of the code ("：2番目のコード"); name the code itself.
        position = re.search(r"(\d+)\s*番目", env.message)
        if position and codes and 1 <= int(position.group(1)) <= len(codes):
            text = f"{what}: {env.message_id} unknown series code {codes[int(position.group(1)) - 1]} ({env.message})"
        raise BojUnknownCodeError(text, status=env.status, message_id=env.message_id)
    raise BojApiError(text, status=env.status, message_id=env.message_id)


# --- result sets -------------------------------------------------------------------------------


def _value_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)
    return str(value)


def data_series(env: Envelope, what: str, lang: str) -> list[BojSeries]:
    """Series of a getDataCode response, in the order the body lists them."""
    if env.results and "_line" in env.results[0]:
        return _csv_series(env.results, what, lang)
    out = []
    for i, item in enumerate(env.results, start=1):
        code = item.get("SERIES_CODE")
        values = item.get("VALUES")
        if not isinstance(code, str) or not code or not isinstance(values, dict):
            raise BojResponseError(f"{what}: malformed response: RESULTSET item {i} lacks SERIES_CODE or VALUES")
        dates, figures = values.get("SURVEY_DATES"), values.get("VALUES")
        if not isinstance(dates, list) or not isinstance(figures, list) or len(dates) != len(figures):
            raise BojResponseError(
                f"{what}: malformed response: series {code}: SURVEY_DATES and VALUES are not lists of equal length"
            )
        dates_text = tuple(str(d) for d in dates)
        out.append(
            BojSeries(
                code=code,
                name=_lang_key(item, "NAME_OF_TIME_SERIES", lang),
                unit=_lang_key(item, "UNIT", lang),
                frequency=str(item.get("FREQUENCY") or ""),
                dates=dates_text,
                values=tuple(_value_text(v) for v in figures),
                places=tuple(f"series {code}, {d}" for d in dates_text),
            )
        )
    return out


def _csv_series(rows: list[dict], what: str, lang: str) -> list[BojSeries]:
    required = ("SERIES_CODE", "FREQUENCY", "SURVEY_DATES", "VALUES")
    missing = [k for k in required if k not in rows[0]]
    if missing:
        raise BojResponseError(f"{what}: malformed response: CSV header lacks {', '.join(missing)}")
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["SERIES_CODE"].strip(), []).append(row)
    out = []
    for code, items in grouped.items():
        first = items[0]
        out.append(
            BojSeries(
                code=code,
                name=_lang_key(first, "NAME_OF_TIME_SERIES", lang),
                unit=_lang_key(first, "UNIT", lang),
                frequency=first["FREQUENCY"].strip(),
                dates=tuple(r["SURVEY_DATES"].strip() for r in items),
                values=tuple(
                    None if (r["VALUES"] or "").strip().lower() in ("", "null") else r["VALUES"].strip() for r in items
                ),
                places=tuple(f"row {r['_line']}" for r in items),
            )
        )
    return out


def metadata_rows(env: Envelope, what: str, lang: str) -> list[MetadataRow]:
    """Series of a getMetadata response; heading rows (empty SERIES_CODE) are left out."""
    out = []
    for i, item in enumerate(env.results, start=1):
        code = item.get("SERIES_CODE")
        if code is not None and not isinstance(code, str):
            raise BojResponseError(f"{what}: malformed response: metadata item {i} has a non-text SERIES_CODE")
        if not code or not code.strip():
            continue
        out.append(
            MetadataRow(
                code.strip(),
                _lang_key(item, "NAME_OF_TIME_SERIES", lang),
                _lang_key(item, "UNIT", lang),
                str(item.get("FREQUENCY") or "").strip(),
            )
        )
    return out
