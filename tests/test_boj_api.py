"""The real BOJ API client against a local server serving fixtures in the documented layouts.

No test touches the internet: every server is a thread on 127.0.0.1. Spacing and backoff use a
fake clock (sleeping advances it), except one test that checks the real 1 s spacing.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
from boj_fixture_server import FakeClock, FixtureServer, Reply, envelope, fixture, make_client

from features.sources.boj_api import MAX_CODES, BojApiClient
from features.sources.errors import (
    BojApiError,
    BojNoDataError,
    BojResponseError,
    BojUnknownCodeError,
    SourceError,
    SourceUnavailableError,
)

CODES = ["BPBP6JYNSN", "BPBP6JYNSN1", "BPBP6JYNSN2"]


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and text.strip() == text and text
    return text


def test_paging_follows_nextposition_into_start_position():
    pages = {None: fixture("bp01_page1.json"), "2": fixture("bp01_page2.json")}
    with FixtureServer(lambda ep, params: pages[params.get("startPosition")]) as server:
        result = make_client(server).get_data_code("BP01", CODES, lang="en")
    assert [s.code for s in result.series] == CODES
    assert [r.params.get("startPosition") for r in server.requests] == [None, "2"]
    assert all(r.params["code"] == ",".join(CODES) and r.params["db"] == "BP01" for r in server.requests)
    travel = result.series[2]
    assert travel.values == ("3310.0", "3702.0", None)  # null stays missing
    assert travel.places[0] == "page 2, series BPBP6JYNSN2, 202401"
    assert [r.name for r in result.responses] == ["getDataCode-BP01-1.json", "getDataCode-BP01-2.json"]
    assert result.date == "2026-11-27T08:50:00.000+09:00"


def test_codes_go_without_db_prefix_at_most_250_per_call():
    codes = [f"BP01'C{i:04d}" for i in range(MAX_CODES + 50)]
    with FixtureServer(lambda ep, params: Reply(envelope([], db="BP01"))) as server:
        make_client(server).get_data_code("BP01", codes)
    sent = [r.params["code"].split(",") for r in server.requests]
    assert [len(s) for s in sent] == [250, 50]
    assert not any("'" in code for batch in sent for code in batch)


def test_code_of_another_database_is_refused_before_any_call():
    with FixtureServer(lambda ep, params: Reply(envelope([], db="BP01"))) as server:
        with pytest.raises(SourceError) as err:
            make_client(server).get_data_code("BP01", ["FM08'FXERM07"])
    assert "belongs to database FM08" in one_line(err)
    assert server.requests == []


@pytest.mark.parametrize(
    ("message_id", "error", "fragment"),
    [
        ("M181005E", BojApiError, "unknown database name"),
        ("M181008E", BojApiError, "invalid start date"),
        ("M181009E", BojApiError, "invalid end date"),
        ("M181013E", BojUnknownCodeError, "unknown series code BPBP6JYNSN1"),  # the 2nd code, named
        ("M181014E", BojApiError, "different frequencies"),
        ("M181030I", BojNoDataError, "no data"),
        ("M181090S", BojApiError, "unexpected error"),
    ],
)
def test_each_message_id_becomes_a_clear_exception(message_id, error, fragment):
    with FixtureServer(lambda ep, params: fixture(f"error_{message_id}.json")) as server:
        with pytest.raises(error) as err:
            make_client(server).get_data_code("BP01", CODES)
    assert err.value.message_id == message_id
    text = one_line(err)
    assert message_id in text and fragment in text and text.startswith("BOJ API getDataCode BP01")
    assert len(server.requests) == 1  # errors other than 503 are not retried


def test_error_body_is_json_even_for_a_csv_request():
    with FixtureServer(lambda ep, params: fixture("error_M181005E.json")) as server:
        with pytest.raises(BojApiError) as err:
            make_client(server).get_data_code("XX99", CODES, fmt="csv", lang="jp")
    assert err.value.status == 400 and "M181005E" in one_line(err)


def scripted(*replies: Reply):
    """Answer with each reply in turn, then keep answering with the last."""
    queue = list(replies)
    return lambda ep, params: queue.pop(0) if len(queue) > 1 else queue[0]


def test_status_503_in_body_then_success_is_retried_with_backoff():
    clock = FakeClock()
    with FixtureServer(scripted(fixture("error_M181091S.json"), fixture("bp01_page2.json"))) as server:
        result = make_client(server, clock, backoff=2.0).get_data_code("BP01", CODES[1:])
    assert len(server.requests) == 2
    assert clock.sleeps == [2.0]  # the backoff also covers the 1 s spacing
    assert [s.code for s in result.series] == CODES[1:]


def test_http_503_then_success_is_retried():
    clock = FakeClock()
    with FixtureServer(
        scripted(Reply(b"busy", status=503, content_type="text/plain"), fixture("bp01_page2.json"))
    ) as server:
        result = make_client(server, clock).get_data_code("BP01", CODES[1:])
    assert len(server.requests) == 2 and len(result.series) == 2


def test_503_every_time_gives_up_after_the_attempts_with_growing_backoff():
    clock = FakeClock()
    with FixtureServer(lambda ep, params: fixture("error_M181091S.json")) as server:
        with pytest.raises(SourceUnavailableError) as err:
            make_client(server, clock, attempts=3, backoff=2.0).get_data_code("BP01", CODES)
    assert len(server.requests) == 3
    assert clock.sleeps == [2.0, 4.0]
    assert "M181091S" in one_line(err) and "gave up after 3 attempt(s)" in one_line(err)


def test_timeout_then_success_is_retried():
    with FixtureServer(scripted(Reply(b"{}", delay=1.5), fixture("bp01_page2.json"))) as server:
        result = make_client(server, timeout=0.3).get_data_code("BP01", CODES[1:])
    assert len(server.requests) == 2 and len(result.series) == 2


def test_timeouts_through_every_attempt_fail_in_one_line():
    with FixtureServer(lambda ep, params: Reply(b"{}", delay=1.5)) as server:
        with pytest.raises(SourceUnavailableError) as err:
            make_client(server, timeout=0.2, attempts=2).get_metadata("BP01")
    assert "no answer within 0.2 s" in one_line(err)
    assert len(server.requests) == 2


def _page_with(**changes) -> bytes:
    doc = json.loads(fixture("bp01_page2.json").body)
    doc.update(changes)
    return json.dumps(doc).encode()


def _series_without_values() -> bytes:
    doc = json.loads(fixture("bp01_page2.json").body)
    del doc["RESULTSET"][0]["VALUES"]
    return json.dumps(doc).encode()


def _unequal_lengths() -> bytes:
    doc = json.loads(fixture("bp01_page2.json").body)
    doc["RESULTSET"][0]["VALUES"]["VALUES"].append(1.0)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"STATUS": 200, "MESSAGEID": "M181000I", "RESULTSET": [', "not valid JSON"),
        (b"<html><body>Service temporarily unavailable</body></html>", "neither JSON nor the documented CSV"),
        (b"", "empty body"),
        (b'{"MESSAGE": "ok"}', "without an integer STATUS"),
        (_series_without_values(), "lacks SERIES_CODE or VALUES"),
        (_unequal_lengths(), "not lists of equal length"),
        (_page_with(NEXTPOSITION="two"), "NEXTPOSITION 'two' is not an integer"),
        (_page_with(RESULTSET={"a": 1}), "RESULTSET is not a list"),
    ],
)
def test_malformed_bodies_are_one_line_errors(body, fragment):
    with FixtureServer(lambda ep, params: Reply(body)) as server:
        with pytest.raises(BojResponseError) as err:
            make_client(server).get_data_code("BP01", CODES)
    assert "malformed response" in one_line(err) and fragment in one_line(err)
    assert len(server.requests) == 1


def test_paging_that_does_not_advance_is_refused():
    with FixtureServer(lambda ep, params: fixture("bp01_page1.json")) as server:  # always NEXTPOSITION 2
        with pytest.raises(BojResponseError) as err:
            make_client(server).get_data_code("BP01", CODES)
    assert "does not advance" in one_line(err) and len(server.requests) == 2


def test_shift_jis_csv_for_lang_jp():
    with FixtureServer(lambda ep, params: fixture("bp01_jp.csv")) as server:
        result = make_client(server).get_data_code("BP01", ["BPBP6JYNSN", "BPBP6JYNSN2"], fmt="csv", lang="jp")
    assert server.requests[0].params["format"] == "csv" and server.requests[0].params["lang"] == "jp"
    services, travel = result.series
    assert (services.name, services.unit, services.frequency) == ("サービス収支/ネット", "億円", "MONTHLY")
    assert services.values == ("-2211", "-1875", None)
    assert travel.values == ("3310", None, "3702")  # an empty cell is a missing figure, never filled
    assert travel.places == ("page 1, row 16", "page 1, row 17", "page 1, row 18")


def test_utf8_csv_for_lang_en():
    with FixtureServer(lambda ep, params: fixture("bp01_en.csv")) as server:
        result = make_client(server).get_data_code("BP01", ["BPBP6JYNSN"], fmt="csv", lang="en")
    assert result.series[0].name == "Services/Net balance"
    assert result.series[0].values == ("-2211.0", None)


def test_csv_that_is_not_shift_jis_is_a_malformed_response():
    body = fixture("bp01_jp.csv").body.replace("億円".encode("cp932"), b"\x81\x7f", 1)
    with FixtureServer(lambda ep, params: Reply(body, content_type="text/csv")) as server:
        with pytest.raises(BojResponseError) as err:
            make_client(server).get_data_code("BP01", ["BPBP6JYNSN"], fmt="csv", lang="jp")
    assert "row 13 is not valid cp932" in one_line(err)


def test_metadata_csv_drops_heading_rows():
    with FixtureServer(lambda ep, params: fixture("metadata_bp01_en.csv")) as server:
        result = make_client(server).get_metadata("BP01", fmt="csv", lang="en")
    assert server.endpoints() == ["getMetadata"]
    assert [(r.code, r.name, r.frequency) for r in result.rows] == [
        ("BPBP6JYNCB", "Current account/Net balance", "MONTHLY"),
        ("BPBP6JYNSN", "Services/Net balance", "MONTHLY"),
    ]


def test_http_error_other_than_503_is_not_retried():
    with FixtureServer(lambda ep, params: Reply(b"not here", status=404, content_type="text/plain")) as server:
        with pytest.raises(SourceError) as err:
            make_client(server).get_metadata("BP01")
    assert "HTTP 404" in one_line(err) and len(server.requests) == 1


def test_unreachable_server_fails_at_once():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = FakeClock()
    client = BojApiClient(f"http://127.0.0.1:{port}/api/v1/", timeout=2.0, clock=clock.clock, sleep=clock.sleep)
    with pytest.raises(SourceUnavailableError) as err:
        client.get_metadata("BP01")
    assert f"cannot reach 127.0.0.1:{port}" in one_line(err)
    assert clock.sleeps == []  # no retries: a refused connection is not transient


def test_calls_are_spaced_by_the_min_interval_fake_clock():
    clock = FakeClock()
    with FixtureServer(lambda ep, params: fixture("bp01_page2.json")) as server:
        client = make_client(server, clock)
        for _ in range(3):
            client.get_data_code("BP01", CODES[1:])
    assert clock.sleeps == [1.0, 1.0]


def test_calls_are_at_least_one_second_apart_real_clock():
    with FixtureServer(lambda ep, params: fixture("bp01_page2.json")) as server:
        client = BojApiClient(server.url, timeout=2.0)  # real clock and sleep, default 1 s spacing
        started = time.monotonic()
        client.get_data_code("BP01", CODES[1:])
        client.get_data_code("BP01", CODES[1:])
    # The second call starts >= 1 s after the first one started, which is after `started`.
    assert server.requests[1].at - started >= 1.0
    assert server.requests[1].at - server.requests[0].at >= 0.95
