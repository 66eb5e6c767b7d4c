"""HTTP client of the BOJ Time-Series Data Search API (public since 2026-02-18).

``getDataCode`` (at most 250 codes of one frequency per call, codes without the DB prefix,
pages followed through NEXTPOSITION -> startPosition), ``getDataLayer`` (every series of one
frequency under a layer path such as ``1,2,*``; the BOJ refuses paths holding more than 1,250
series of all frequencies) and ``getMetadata``. Calls are spaced at
least ``min_interval`` seconds apart (the BOJ asks clients to avoid high-frequency access) and
a 503 (HTTP or STATUS in the body) or a timeout is retried with exponential backoff. ``clock``
and ``sleep`` are injectable so tests can check the timing without waiting for it.

Anything shown from these data must carry :data:`CREDIT`, the BOJ's required credit line.
"""

from __future__ import annotations

import dataclasses
import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from features.sources.boj_response import (
    BojSeries,
    Envelope,
    MetadataRow,
    data_series,
    metadata_rows,
    parse_envelope,
    raise_for_status,
)
from features.sources.errors import BojResponseError, SourceError, SourceUnavailableError

DEFAULT_BASE_URL = "https://www.stat-search.boj.or.jp/api/v1/"
CREDIT = (
    "このサービスは、日本銀行時系列統計データ検索サイトのAPI機能を使用しています。"
    "サービスの内容は日本銀行によって保証されたものではありません。"
)
MAX_CODES = 250
MAX_LAYERS = 5  # LAYER1..LAYER5 in getMetadata
# Request frequency word -> the FREQUENCY the response writes (weekly: WEEKLY(MONDAY) ... WEEKLY(SUNDAY)).
FREQUENCIES = {
    "CY": "ANNUAL",
    "FY": "ANNUAL(MAR)",
    "CH": "SEMIANNUAL",
    "FH": "SEMIANNUAL(SEP)",
    "Q": "QUARTERLY",
    "M": "MONTHLY",
    "W": "WEEKLY",
    "D": "DAILY",
}
USER_AGENT = "digital-deficit (BOJ API client; https://www.stat-search.boj.or.jp/)"
Format = Literal["json", "csv"]
Lang = Literal["jp", "en"]


@dataclass(frozen=True)
class RawResponse:
    """A response body as received, kept so that a vintage can store what the BOJ sent."""

    name: str  # e.g. getDataCode-BP01-1.json
    url: str
    body: bytes


@dataclass(frozen=True)
class DataCodeResult:
    series: list[BojSeries]
    responses: list[RawResponse]
    date: str  # DATE of the first page: the BOJ's time stamp of the figures


@dataclass(frozen=True)
class MetadataResult:
    rows: list[MetadataRow]
    response: RawResponse
    date: str


class _Retry(Exception):
    """A transient failure (timeout, 503) worth another attempt."""


def plain_codes(db: str, codes: list[str]) -> list[str]:
    """Codes without the DB prefix (``BP01'BPBP6JYNCB`` -> ``BPBP6JYNCB``), duplicates dropped."""
    out: list[str] = []
    for code in codes:
        prefix, _, rest = code.strip().rpartition("'")
        if prefix and prefix.upper() != db.upper():
            raise SourceError(f"BOJ API: code {code!r} belongs to database {prefix}, not {db}")
        if not rest or "," in rest:
            raise SourceError(f"BOJ API: invalid series code {code!r}")
        if rest not in out:
            out.append(rest)
    if not out:
        raise SourceError(f"BOJ API: no series code given for {db}")
    return out


def layer_path(spec: str) -> str:
    """A checked ``layer`` parameter: layer 1 required, at most 5 layers, each ``*`` or an integer >= 1."""
    parts = [p.strip() for p in spec.split(",")]
    if not parts[0]:
        raise SourceError(f"BOJ API getDataLayer: layer {spec!r} has no layer 1 (e.g. 1 or 1,2,*)")
    if len(parts) > MAX_LAYERS:
        raise SourceError(f"BOJ API getDataLayer: layer {spec!r} has {len(parts)} layers; at most {MAX_LAYERS}")
    for depth, part in enumerate(parts, start=1):
        if part != "*" and not (part.isascii() and part.isdigit() and int(part) >= 1):
            raise SourceError(
                f"BOJ API getDataLayer: layer {spec!r}: layer {depth} is {part!r}, not '*' or an integer >= 1"
            )
    return ",".join(parts)


def frequency_word(frequency: str) -> str:
    """The request's frequency word in capitals (the API takes either case)."""
    word = frequency.strip().upper()
    if word not in FREQUENCIES:
        raise SourceError(f"BOJ API getDataLayer: unknown frequency {frequency!r} (one of {', '.join(FREQUENCIES)})")
    return word


class BojApiClient:
    """One client = one spacing clock: share it across calls so that spacing holds between them."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        min_interval: float = 1.0,
        attempts: int = 4,
        backoff: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.min_interval = min_interval
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._last_call: float | None = None

    # --- public calls ----------------------------------------------------------------------

    def get_data_code(
        self,
        db: str,
        codes: list[str],
        *,
        start: str | None = None,
        end: str | None = None,
        fmt: Format = "json",
        lang: Lang = "jp",
    ) -> DataCodeResult:
        """Every page of every chunk of <= 250 codes, series in request order."""
        codes = plain_codes(db, codes)
        series: dict[str, BojSeries] = {}
        responses: list[RawResponse] = []
        date = ""
        for offset in range(0, len(codes), MAX_CODES):
            chunk = codes[offset : offset + MAX_CODES]
            params = {
                "db": db,
                "code": ",".join(chunk),
                "format": fmt,
                "lang": lang,
                "startDate": start,
                "endDate": end,
            }
            # NEXTPOSITION is a 1-based index into the codes requested: it stays within them.
            chunk_date = self._collect("getDataCode", params, db, lang, chunk, len(chunk), series, responses)
            date = date or chunk_date
        frequencies = {s.frequency for s in series.values()}
        if len(frequencies) > 1:
            raise BojResponseError(f"BOJ API getDataCode {db}: series of several frequencies {sorted(frequencies)}")
        return DataCodeResult([series[c] for c in codes if c in series], responses, date)

    def get_data_layer(
        self,
        db: str,
        frequency: str,
        layer: str,
        *,
        start: str | None = None,
        end: str | None = None,
        fmt: Format = "json",
        lang: Lang = "jp",
    ) -> DataCodeResult:
        """Every series of one frequency under a layer path, in the order the pages list them."""
        word, path = frequency_word(frequency), layer_path(layer)
        if not db.strip():
            raise SourceError("BOJ API getDataLayer: no database given")
        params = {
            "db": db,
            "frequency": word,
            "layer": path,
            "format": fmt,
            "lang": lang,
            "startDate": start,
            "endDate": end,
        }
        series: dict[str, BojSeries] = {}
        responses: list[RawResponse] = []
        # NEXTPOSITION here numbers the database's series as a whole: it only has to move forward.
        date = self._collect("getDataLayer", params, db, lang, None, None, series, responses)
        expected = FREQUENCIES[word]
        for s in series.values():
            if not (s.frequency.startswith(f"{expected}(") if word == "W" else s.frequency == expected):
                raise BojResponseError(
                    f"BOJ API getDataLayer {db}: series {s.code} is {s.frequency or '(no frequency)'}, "
                    f"but frequency {word} asks for {expected}"
                )
        return DataCodeResult(list(series.values()), responses, date)

    def get_metadata(self, db: str, *, fmt: Format = "json", lang: Lang = "jp") -> MetadataResult:
        what = f"BOJ API getMetadata {db}"
        env, raw = self._call(
            "getMetadata", {"db": db, "format": fmt, "lang": lang}, what, lang, None, f"getMetadata-{db}.{fmt}"
        )
        return MetadataResult(metadata_rows(env, what, lang), raw, env.date)

    # --- paging ----------------------------------------------------------------------------

    def _collect(
        self,
        endpoint: str,
        params: dict,
        db: str,
        lang: str,
        codes: list[str] | None,
        last: int | None,
        series: dict[str, BojSeries],
        responses: list[RawResponse],
    ) -> str:
        """Every page of one request (NEXTPOSITION -> startPosition until null) into ``series``, merged
        by code, and ``responses``; returns the DATE of the first page. ``last``: highest valid NEXTPOSITION."""
        date = ""
        position: int | None = None
        while True:
            page = len(responses) + 1
            what = f"BOJ API {endpoint} {db} (page {page})"
            env, raw = self._call(
                endpoint,
                {**params, "startPosition": position},
                what,
                lang,
                codes,
                f"{endpoint}-{db}-{page}.{params['format']}",
            )
            nxt = env.next_position
            if nxt is not None and not ((position or 1) < nxt and (last is None or nxt <= last)):
                bound = (
                    f"within the {last} codes requested" if last is not None else f"past startPosition {position or 1}"
                )
                raise BojResponseError(f"{what}: malformed response: NEXTPOSITION {nxt} does not advance {bound}")
            responses.append(raw)
            date = date or env.date
            for s in data_series(env, what, lang):
                s = dataclasses.replace(s, places=tuple(f"page {page}, {p}" for p in s.places))
                series[s.code] = _merge(series.get(s.code), s, what)
            if nxt is None:
                return date
            position = nxt

    # --- transport -------------------------------------------------------------------------

    def _call(
        self, endpoint: str, params: dict, what: str, lang: str, codes: list[str] | None, name: str
    ) -> tuple[Envelope, RawResponse]:
        # Commas and the layer wildcard go as written, as in the BOJ manual's examples.
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, safe=",*")
        url = f"{self.base_url}{endpoint}?{query}"
        reason = ""
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                body = self._get(url, what)
                env = parse_envelope(body, what, lang)
                if env.status == 503:
                    raise _Retry(f"STATUS 503 {env.message_id} ({env.message})")
            except _Retry as retry:
                reason = str(retry)
                continue
            raise_for_status(env, what, codes)
            return env, RawResponse(name, url, body)
        raise SourceUnavailableError(f"{what}: {reason}; gave up after {self.attempts} attempt(s)")

    def _get(self, url: str, what: str) -> bytes:
        self._wait_turn()
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as err:
            err.close()  # it holds the open response
            if err.code == 503:
                raise _Retry("HTTP 503") from None
            raise SourceError(f"{what}: HTTP {err.code} {err.reason}") from None
        except TimeoutError:
            raise _Retry(f"no answer within {self.timeout:g} s") from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                raise _Retry(f"no answer within {self.timeout:g} s") from None
            raise SourceUnavailableError(f"{what}: cannot reach {_host(url)} ({_reason(err.reason)})") from None
        except (OSError, http.client.HTTPException) as err:  # reset, truncated body: the network, not the data
            raise SourceUnavailableError(f"{what}: connection to {_host(url)} failed ({_reason(err)})") from None

    def _wait_turn(self) -> None:
        """Sleep so that calls start at least ``min_interval`` seconds apart."""
        if self._last_call is not None:
            wait = self._last_call + self.min_interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_call = self._clock()


def _merge(old: BojSeries | None, new: BojSeries, what: str) -> BojSeries:
    """A series continued on a later page: append its dates (never overwrite a figure)."""
    if old is None:
        return new
    if set(old.dates) & set(new.dates):
        raise BojResponseError(f"{what}: malformed response: series {new.code} repeats dates across pages")
    return BojSeries(
        old.code,
        old.name,
        old.unit,
        old.frequency,
        old.dates + new.dates,
        old.values + new.values,
        old.places + new.places,
    )


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


def _reason(reason: object) -> str:
    return " ".join(str(reason).split()) or type(reason).__name__
