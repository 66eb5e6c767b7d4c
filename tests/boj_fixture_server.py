"""A local stand-in for the BOJ API: an HTTP server on 127.0.0.1 (port 0) answering from a script.

Tests give a function (endpoint, query parameters) -> :class:`Reply`; every request is recorded
with its arrival time. Bodies come from fixture files in the layouts of SOURCES.md section 4a
(``tests/data/boj_api``) or are rendered from the catalogue by :func:`catalogue_bodies`.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "data" / "boj_api"


@dataclass(frozen=True)
class Reply:
    body: bytes
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    content_type: str = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Request:
    at: float  # time.monotonic() on arrival
    endpoint: str
    params: dict[str, str]
    query: str = ""  # the query string as sent, before decoding


def fixture(name: str) -> Reply:
    body = (FIXTURES / name).read_bytes()
    kind = "application/json; charset=utf-8" if name.endswith(".json") else "text/csv"
    return Reply(body, content_type=kind)


class FixtureServer:
    def __init__(self, answer: Callable[[str, dict[str, str]], Reply]) -> None:
        self.answer = answer
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
                endpoint = parts.path.rsplit("/", 1)[-1]
                server.requests.append(Request(time.monotonic(), endpoint, params, parts.query))
                reply = server.answer(endpoint, params)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout tests)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/api/v1/"
        # A short poll interval: shutdown() waits up to one interval.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def endpoints(self) -> list[str]:
        return [r.endpoint for r in self.requests]


# --- bodies rendered from the catalogue (the full fetch) --------------------------------------------


def envelope(
    results: list[dict], *, db: str, date: str = "2026-11-27T08:50:00.000+09:00", next_position: int | None = None
) -> bytes:
    doc = {
        "STATUS": 200,
        "MESSAGEID": "M181000I",
        "MESSAGE": "正常に終了しました。",
        "DATE": date,
        "PARAMETER": {"FORMAT": "JSON", "LANG": "JP", "DB": db, "STARTDATE": "", "ENDDATE": "", "STARTPOSITION": ""},
        "NEXTPOSITION": next_position,
        "RESULTSET": results,
    }
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def fixture_codes(catalogue) -> dict[str, str]:
    """Series id -> code the stand-in uses: catalogue codes where given, else a made-up TEST code."""
    return {sid: e.code or f"TEST{i:03d}" for i, (sid, e) in enumerate(catalogue.series.items())}


def metadata_body(catalogue, codes: dict[str, str]) -> bytes:
    rows = [{"SERIES_CODE": "", "NAME_OF_TIME_SERIES_J": "【国際収支統計】", "FREQUENCY": ""}]  # a heading row
    for sid, entry in catalogue.series.items():
        rows.append(
            {
                "SERIES_CODE": codes[sid],
                "NAME_OF_TIME_SERIES_J": entry.name_ja,
                "UNIT_J": "億円",
                "FREQUENCY": "MONTHLY",
                "CATEGORY_J": "国際収支統計",
                "LAYER1": "1",
                "LAYER2": None,
                "LAYER3": None,
                "LAYER4": None,
                "LAYER5": None,
                "START_OF_THE_TIME_SERIES": "199601",
                "END_OF_THE_TIME_SERIES": "202409",
                "LAST_UPDATE": 20261127,
                "NOTES_J": "",
            }
        )
    return envelope(rows, db="BP01")


# Receipts and payments per item (made up, not data); balance = receipts - payments.
FLOWS_BY_ITEM = {
    "services_total": (20000, 22000),
    "ip_charges": (5000, 2500),
    "copyright_royalties": (300, 900),
    "telecom_computer_information": (900, 2400),
    "telecom": (60, 80),
    "computer": (700, 2100),
    "information": (140, 220),
    "prof_mgmt_consulting": (400, 1100),
}
MONTHS = (202405, 202406, 202407, 202408)


def series_result(code: str, name: str, unit: str, values: list[float | None], dates=MONTHS) -> dict:
    return {
        "SERIES_CODE": code,
        "NAME_OF_TIME_SERIES_J": name,
        "UNIT_J": unit,
        "FREQUENCY": "MONTHLY",
        "CATEGORY_J": "",
        "LAST_UPDATE": 20261127,
        "VALUES": {"SURVEY_DATES": list(dates), "VALUES": values},
    }


def data_bodies(catalogue, codes: dict[str, str], bump: int = 0) -> dict[str, bytes]:
    """getDataCode bodies per database; ``bump`` raises every payment by that much (a revision)."""
    results: dict[str, list[dict]] = {"BP01": [], "FM08": []}
    for sid, entry in catalogue.series.items():
        item, flow = sid.split(".")
        if item == "usdjpy":
            values: list[float | None] = [156.2, 157.9, 157.5, 146.3]
            results["FM08"].append(series_result(codes[sid], entry.name_ja, "円", values))
            continue
        receipts, payments = FLOWS_BY_ITEM[item]
        values = []
        for k in range(len(MONTHS)):
            r, p = receipts + 10 * k, payments + bump
            values.append({"receipts": r, "payments": p, "balance": r - p}[flow])
        if item == "prof_mgmt_consulting":
            values[-1] = None  # not yet published: the figure is absent, not zero
        results["BP01"].append(series_result(codes[sid], entry.name_ja, "億円", values))
    return {db: envelope(rows, db=db) for db, rows in results.items()}


def catalogue_answer(catalogue, codes: dict[str, str], bump: int = 0) -> Callable[[str, dict[str, str]], Reply]:
    bodies = data_bodies(catalogue, codes, bump)
    meta = metadata_body(catalogue, codes)

    def answer(endpoint: str, params: dict[str, str]) -> Reply:
        if endpoint == "getMetadata":
            return Reply(meta)
        return Reply(bodies[params["db"]])

    return answer


class FakeClock:
    """Time for the client: ``sleep`` advances ``now`` instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def make_client(server: FixtureServer, clock: FakeClock | None = None, **options):
    """A BOJ API client of ``server`` on a fake clock (2 s timeout unless given)."""
    from features.sources.boj_api import BojApiClient

    clock = clock or FakeClock()
    options.setdefault("timeout", 2.0)
    return BojApiClient(server.url, clock=clock.clock, sleep=clock.sleep, **options)
