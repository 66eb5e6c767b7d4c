"""Fetching the whole BOJ catalogue from a local stand-in server: code resolution through
getMetadata, checks of what comes back, vintages, and the real ``deficit data fetch``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from boj_fixture_server import (
    FixtureServer,
    Reply,
    catalogue_answer,
    data_bodies,
    envelope,
    fixture_codes,
    metadata_body,
)

from experiments.cli.vintages import show
from features.data_defaults import NEWEST
from features.errors import DataValidationError
from features.sources.boj_api import CREDIT, BojApiClient
from features.sources.boj_catalogue import CODES_FILE, load_boj_catalogue
from features.sources.boj_fetch import fetch_boj
from features.sources.errors import SourceError
from features.vintage_diff import diff_figures
from features.vintages import VintageStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def catalogue():
    return load_boj_catalogue()


def client(server: FixtureServer) -> BojApiClient:
    return BojApiClient(server.url, timeout=2.0, clock=lambda: 0.0, sleep=lambda s: None)  # no real waiting


def test_fetch_resolves_unverified_codes_once_and_stores_one_vintage(catalogue, tmp_path):
    codes = fixture_codes(catalogue)
    with FixtureServer(catalogue_answer(catalogue, codes)) as server:
        first = fetch_boj(client(server), catalogue, tmp_path)
        second = fetch_boj(client(server), catalogue, tmp_path)
    # getMetadata only the first time: the resolved codes are kept in the data directory.
    assert server.endpoints() == ["getMetadata", "getDataCode", "getDataCode", "getDataCode", "getDataCode"]
    assert [r.params["db"] for r in server.requests[1:3]] == ["BP01", "FM08"]
    assert server.requests[1].params["code"].split(",")[:3] == [codes[s] for s in list(catalogue.series)[:3]]
    resolved = json.loads((tmp_path / CODES_FILE).read_text(encoding="utf-8"))["codes"]
    assert len(resolved) == 23 and resolved["ip_charges.balance"]["code"] == "BPBP6JYNSN906"

    figures = first.figures
    assert len(figures) == 24 * 4 - 3 + 4  # consulting's last month is not published yet; FX 4 months
    assert figures[figures["item"] == "usdjpy"]["unit"].eq("JPY_per_USD").all()
    assert first.as_of == "2026-11-27T08:50:00+09:00" and first.source == "boj_api"
    assert first.details["credit"] == CREDIT
    assert set(first.raw) == {"getDataCode-BP01-1.json", "getDataCode-FM08-1.json"}

    store = VintageStore(tmp_path)
    assert store.save(first).created and not store.save(second).created


def test_a_revision_is_a_new_vintage_and_diff_shows_it(catalogue, tmp_path):
    codes = fixture_codes(catalogue)
    store = VintageStore(tmp_path)
    for bump in (0, 5):
        with FixtureServer(catalogue_answer(catalogue, codes, bump=bump)) as server:
            store.save(fetch_boj(client(server), catalogue, tmp_path))
    old, new = store.list()
    revised = diff_figures(store.figures(old), store.figures(new)).revised
    assert set(revised["series"].str.split(".").str[1]) == {"payments", "balance"}
    assert len(revised) == 2 * (8 * 4 - 1) and (revised["change"].abs() == 5).all()


def answer_with(catalogue, codes, meta: bytes | None = None, bp01: bytes | None = None):
    bodies = data_bodies(catalogue, codes)
    meta = meta or metadata_body(catalogue, codes)

    def answer(endpoint: str, params: dict[str, str]) -> Reply:
        if endpoint == "getMetadata":
            return Reply(meta)
        return Reply(bp01 if (bp01 and params["db"] == "BP01") else bodies[params["db"]])

    return answer


def test_candidate_code_that_names_another_series_stops_the_fetch(catalogue, tmp_path):
    codes = {**fixture_codes(catalogue), "ip_charges.balance": "TEST999"}
    with FixtureServer(answer_with(catalogue, codes)) as server:
        with pytest.raises(SourceError) as err:
            fetch_boj(client(server), catalogue, tmp_path)
    assert "candidate code BPBP6JYNSN906 is not the series named" in str(err.value)
    assert "getMetadata gives TEST999" in str(err.value)
    assert not (tmp_path / CODES_FILE).exists()


def test_series_missing_from_the_metadata_stops_the_fetch(catalogue, tmp_path):
    codes = fixture_codes(catalogue)
    doc = json.loads(metadata_body(catalogue, codes))
    doc["RESULTSET"] = [r for r in doc["RESULTSET"] if r["SERIES_CODE"] != codes["computer.payments"]]
    with FixtureServer(answer_with(catalogue, codes, meta=json.dumps(doc).encode())) as server:
        with pytest.raises(SourceError) as err:
            fetch_boj(client(server), catalogue, tmp_path)
    assert "computer.payments: no monthly BP01 series named" in str(err.value)


def _bp01_with(catalogue, codes, changes: dict, every: bool = False) -> bytes:
    doc = json.loads(data_bodies(catalogue, codes)["BP01"])
    for result in doc["RESULTSET"] if every else doc["RESULTSET"][:1]:
        result.update(changes)
    return json.dumps(doc, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("changes", "every", "error", "fragment"),
    [
        (
            {"NAME_OF_TIME_SERIES_J": "サービス/輸送/受取"},
            False,
            DataValidationError,
            "is named 'サービス/輸送/受取', but boj_series.yaml expects 'サービス/受取'",
        ),
        ({"FREQUENCY": "QUARTERLY"}, True, DataValidationError, "unexpected frequency QUARTERLY (expected MONTHLY)"),
        ({"FREQUENCY": "QUARTERLY"}, False, SourceError, "series of several frequencies"),
        ({"UNIT_J": "百万円"}, False, DataValidationError, "unit mismatch"),
    ],
)
def test_fetched_series_are_checked_against_the_catalogue(catalogue, tmp_path, changes, every, error, fragment):
    codes = fixture_codes(catalogue)
    body = _bp01_with(catalogue, codes, changes, every)
    with FixtureServer(answer_with(catalogue, codes, bp01=body)) as server:
        with pytest.raises(error) as err:
            fetch_boj(client(server), catalogue, tmp_path)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_a_series_absent_from_the_answer_stops_the_fetch(catalogue, tmp_path):
    codes = fixture_codes(catalogue)
    with FixtureServer(answer_with(catalogue, codes, bp01=envelope([], db="BP01"))) as server:
        with pytest.raises(SourceError, match="the response has no series TEST000"):
            fetch_boj(client(server), catalogue, tmp_path)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_real_cli_fetch_stores_a_vintage_and_shows_the_credit_line(catalogue, tmp_path, capsys):
    with FixtureServer(catalogue_answer(catalogue, fixture_codes(catalogue))) as server:
        proc = cli("data", "fetch", "--base-url", server.url, cwd=tmp_path)  # real 1 s spacing: ~2 s
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("new vintage ") and "boj_api" in out[0] and out[-1] == CREDIT
    data_dir = tmp_path / "data" / "vintages"
    assert VintageStore(data_dir).newest().source == "boj_api"

    show(NEWEST, ["services_total.balance"], 12, data_dir)
    assert capsys.readouterr().out.rstrip().endswith(CREDIT)


def test_real_cli_fetch_offline_fails_in_one_line_and_writes_nothing(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = cli("data", "fetch", "--base-url", f"http://127.0.0.1:{port}/api/v1/", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"error: BOJ API getMetadata BP01: cannot reach 127.0.0.1:{port} (") and "refused" in line
    assert not (tmp_path / "data").exists()
