"""getDataLayer against the local stand-in server, fed fixtures in the layout of SOURCES.md 4a:
paging, the exact query sent, the checks made before any request, error MESSAGEIDs, and the
real ``deficit data browse``. No test touches the internet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from boj_fixture_server import FakeClock, FixtureServer, Reply, fixture, make_client

from features.sources.boj_api import CREDIT
from features.sources.errors import BojApiError, BojNoDataError, BojResponseError, SourceError

ROOT = Path(__file__).resolve().parents[1]
PAGE1 = ["BPBP6JYNSN", "BPBP6JYNSN1", "BPBP6JYNSN2"]
PAGE2 = ["BPBP6JYNSN9", "BPBP6JYNSN906", "BPBP6JYNSN907"]


def paged(endpoint: str, params: dict[str, str]) -> Reply:
    return {None: fixture("layer_bp01_m_page1.json"), "104": fixture("layer_bp01_m_page2.json")}[
        params.get("startPosition")
    ]


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and text.strip() == text and text
    return text


def test_pages_are_concatenated_in_order_with_spacing():
    clock = FakeClock()
    with FixtureServer(paged) as server:
        result = make_client(server, clock).get_data_layer("BP01", "M", "1,2,*")
    assert [s.code for s in result.series] == PAGE1 + PAGE2
    assert [r.name for r in result.responses] == ["getDataLayer-BP01-1.json", "getDataLayer-BP01-2.json"]
    ip = result.series[4]
    assert (ip.name, ip.unit, ip.frequency) == ("サービス/その他サービス/知的財産権等使用料/ネット", "億円", "MONTHLY")
    assert ip.dates == ("202406", "202407", "202408") and ip.values == ("2460.0", "2511.0", "2530.0")
    assert result.series[2].values == ("3310.0", "3702.0", None)  # null stays missing
    assert result.series[5].places[0] == "page 2, series BPBP6JYNSN907, 202406"
    assert result.date == "2026-11-27T08:50:00.000+09:00"
    assert clock.sleeps == [1.0]  # the same >= 1 s spacing as getDataCode


def test_query_is_exactly_the_documented_parameters():
    with FixtureServer(paged) as server:
        make_client(server).get_data_layer("BP01", "m", " 1, 2 ,* ")
    first, second = server.requests
    assert first.endpoint == second.endpoint == "getDataLayer"
    # As sent on the wire: commas and the wildcard unescaped, frequency in capitals, spaces dropped.
    assert first.query == "db=BP01&frequency=M&layer=1,2,*&format=json&lang=jp"
    assert second.query == first.query + "&startPosition=104"
    assert dict(parse_qsl(second.query)) == second.params


def test_dates_are_sent_only_when_given():
    with FixtureServer(lambda ep, params: fixture("layer_bp01_m_page2.json")) as server:
        make_client(server).get_data_layer("BP01", "M", "1", start="202406", end="202408", lang="en")
    assert server.requests[0].query == "db=BP01&frequency=M&layer=1&format=json&lang=en&startDate=202406&endDate=202408"


def test_shift_jis_csv_page():
    with FixtureServer(lambda ep, params: fixture("layer_bp01_jp.csv")) as server:
        result = make_client(server).get_data_layer("BP01", "M", "*", fmt="csv", lang="jp")
    assert server.requests[0].query == "db=BP01&frequency=M&layer=*&format=csv&lang=jp"
    ip, ict = result.series
    assert ip.name == "サービス/その他サービス/知的財産権等使用料/ネット" and ip.values == ("2460", "2511", None)
    assert ict.name.endswith("通信・コンピュータ・情報サービス/ネット") and ict.values == ("-1502", None, "-1490")
    assert ict.places == ("page 1, row 16", "page 1, row 17", "page 1, row 18")


@pytest.mark.parametrize(
    ("frequency", "layer", "fragment"),
    [
        ("M", "", "has no layer 1"),
        ("M", ",2", "has no layer 1"),
        ("M", "1,2,3,4,5,6", "has 6 layers; at most 5"),
        ("M", "1,,2", "layer 2 is '', not '*' or an integer >= 1"),
        ("M", "1,a", "layer 2 is 'a'"),
        ("M", "0", "layer 1 is '0'"),
        ("M", "1,-2", "layer 2 is '-2'"),
        ("M", "1,２", "layer 2 is '２'"),  # a full-width digit, which the BOJ refuses (M181001E)
        ("M", "1,2*", "layer 2 is '2*'"),
        ("MONTHLY", "1", "unknown frequency 'MONTHLY' (one of CY, FY, CH, FH, Q, M, W, D)"),
        ("W1", "1", "unknown frequency 'W1'"),
        ("", "1", "unknown frequency ''"),
    ],
)
def test_bad_layer_or_frequency_fails_before_any_request(frequency, layer, fragment):
    with FixtureServer(paged) as server:
        with pytest.raises(SourceError) as err:
            make_client(server).get_data_layer("BP01", frequency, layer)
    text = one_line(err)
    assert text.startswith("BOJ API getDataLayer: ") and fragment in text
    assert server.requests == []


@pytest.mark.parametrize("layer", ["1", "*", "1,*", "1,2,*", "*,*,*,*,*", "12,3,4,5,6"])
def test_layer_paths_within_the_documented_depth_are_sent(layer):
    with FixtureServer(lambda ep, params: fixture("layer_bp01_m_page2.json")) as server:
        make_client(server).get_data_layer("BP01", "M", layer)
    assert server.requests[0].params["layer"] == layer


@pytest.mark.parametrize(
    ("name", "error", "fragment"),
    [
        ("error_M181030I.json", BojNoDataError, "M181030I no data for this request"),
        ("error_M181020E.json", BojApiError, "M181020E invalid layer specification"),
        ("error_M181007E.json", BojApiError, "M181007E too many series codes (a layer path may cover at most 1,250"),
        ("error_M181005E.json", BojApiError, "M181005E unknown database name"),
    ],
)
def test_error_message_ids_become_one_line_errors(name, error, fragment):
    with FixtureServer(lambda ep, params: fixture(name)) as server:
        with pytest.raises(error) as err:
            make_client(server).get_data_layer("BP01", "M", "1,2,*")
    text = one_line(err)
    assert text.startswith("BOJ API getDataLayer BP01 (page 1): ") and fragment in text
    assert len(server.requests) == 1  # not retried


def test_status_503_is_retried_with_backoff_as_for_getdatacode():
    clock = FakeClock()
    replies = [fixture("error_M181091S.json"), fixture("layer_bp01_m_page2.json")]
    with FixtureServer(lambda ep, params: replies.pop(0)) as server:
        result = make_client(server, clock, backoff=2.0).get_data_layer("BP01", "M", "1")
    assert len(server.requests) == 2 and clock.sleeps == [2.0]
    assert [s.code for s in result.series] == PAGE2


def test_nextposition_that_does_not_advance_is_refused():
    with FixtureServer(lambda ep, params: fixture("layer_bp01_m_page1.json")) as server:  # always NEXTPOSITION 104
        with pytest.raises(BojResponseError) as err:
            make_client(server).get_data_layer("BP01", "M", "1")
    assert "NEXTPOSITION 104 does not advance past startPosition 104" in one_line(err)
    assert len(server.requests) == 2


def test_series_of_another_frequency_is_a_malformed_response():
    with FixtureServer(paged) as server:
        with pytest.raises(BojResponseError) as err:
            make_client(server).get_data_layer("BP01", "Q", "1,2,*")
    assert "series BPBP6JYNSN is MONTHLY, but frequency Q asks for QUARTERLY" in one_line(err)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_real_cli_browse_lists_the_series_the_server_returns(tmp_path):
    with FixtureServer(paged) as server:  # two pages: real 1 s spacing
        proc = cli(
            "data",
            "browse",
            "--db",
            "BP01",
            "--frequency",
            "M",
            "--layer",
            "1,2,*",
            "--base-url",
            server.url,
            cwd=tmp_path,
        )
    assert proc.returncode == 0, proc.stderr
    head, *rows, credit = proc.stdout.splitlines()
    assert head == "BP01 layer 1,2,* frequency M: 6 series (2 page(s), as of 2026-11-27T08:50:00.000+09:00)"
    assert [r.split()[0] for r in rows] == PAGE1 + PAGE2
    assert rows[4] == "BPBP6JYNSN906  202406..202408  億円  サービス/その他サービス/知的財産権等使用料/ネット"
    assert credit == CREDIT
    assert [r.params.get("startPosition") for r in server.requests] == [None, "104"]
    assert not any(tmp_path.iterdir())  # browsing stores nothing


def test_real_cli_browse_with_a_bad_layer_fails_in_one_line_without_a_request(tmp_path):
    with FixtureServer(paged) as server:
        proc = cli(
            "data",
            "browse",
            "--db",
            "BP01",
            "--frequency",
            "M",
            "--layer",
            "1,x",
            "--base-url",
            server.url,
            cwd=tmp_path,
        )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: BOJ API getDataLayer: layer '1,x': layer 2 is 'x', not '*' or an integer >= 1"
    ]
    assert server.requests == []
