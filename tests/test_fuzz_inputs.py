"""Hostile input, generated: configs, scenario folders, `deficit backtest` panels and official data
files, each mutated from a real one or made up whole by hypothesis, through the CLI's own entry
point (`experiments.cli.main`, in this process so that ~1,100 cases take seconds, not hours).

Every case must either work (exit 0) or end with exactly one `error:` line on stderr and a non-zero
exit. An exception escaping `main` is the traceback a user would see: hypothesis shrinks it to the
smallest input that shows it. Derandomized, so CI runs the same cases every time."""

from __future__ import annotations

import io
import math
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from small_refresh import ROOT, write_small_config

from experiments.cli import main

FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CASES = {"configs": 300, "scenarios": 250, "panels": 250, "data_files": 300}


# Small fits run as in the engine's tasks: one BLAS/OpenMP thread (see conftest.one_blas_thread).
pytestmark = pytest.mark.usefixtures("one_blas_thread")


def run_cli(*args: str) -> tuple[int, str]:
    """(exit code, stderr) of `deficit ARGS` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["deficit", *args]
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return code, err.getvalue()


def assert_works_or_one_line(code: int, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]
    if code != 0:
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, stderr[-3000:]
        assert len(errors[0]) < 2000


# -- values and mutations ----------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "-1",
            "0",
            "1e309",
            "nan",
            "../../etc",
            "/",
            "=cmd|' /C calc'!A0",
            "2017-13",
            "MS",
            "YS",
            "baseline",
            "naive",
            "champion",
            "~",
            "null",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _set(node, path, value, delete: bool):
    if not path:
        return value
    *head, last = path
    parent = node
    for key in head:
        parent = parent[key]
    if delete:
        del parent[last]
    else:
        parent[last] = value
    return node


@st.composite
def mutated(draw, document):
    """``document`` with 1-3 of its nodes replaced by random values, deleted, or given an unknown key."""
    doc = yaml.safe_load(yaml.safe_dump(document))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and path:
            doc = _set(doc, path, None, delete=True)
        elif action == "add":
            target = doc
            for key in path:
                target = target[key]
            if isinstance(target, dict):
                target[draw(st.text(max_size=10))] = draw(values)
        else:
            doc = _set(doc, path, draw(values), delete=False)
    return doc


def dump(doc) -> str:
    return yaml.safe_dump(doc, allow_unicode=True)


texts = st.one_of(st.text(max_size=300), st.binary(max_size=200).map(lambda b: b.decode("latin-1")))


@st.composite
def yaml_texts(draw, base: dict):
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "random structure", "random text"]))
    if kind == "mutated":
        return dump(draw(mutated(base)))
    if kind == "random structure":
        return dump(draw(values))
    return draw(texts)


# -- configs -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def test_fuzzed_configs(work):
    base = yaml.safe_load(
        write_small_config(work, "fuzz", "fuzz-model", ["digital_mof3.balance"], ["naive", "seasonal_naive"]).read_text(
            encoding="utf-8"
        )
    )
    base["min_free_mb"] = 0
    path = work / "fuzzed.yaml"

    @settings(FUZZ, max_examples=CASES["configs"])
    @given(text=yaml_texts(base))
    def case(text):
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        assert_works_or_one_line(*run_cli("refresh", "--check", "--config", str(path)))

    case()


# -- scenario folders --------------------------------------------------------------------------


def test_fuzzed_scenario_files(work):
    import shutil

    # the baseline (required), the fuzzed scenario and the levers it names: every case loads the
    # whole folder, so a small one keeps 250 cases quick
    folder = work / "scenarios"
    (folder / "levers").mkdir(parents=True)
    shipped = ROOT / "configs" / "scenarios"
    for name in ("baseline.yaml", "high.yaml"):
        shutil.copy(shipped / name, folder / name)
    for lever in (shipped / "levers").glob("*.yaml"):
        shutil.copy(lever, folder / "levers" / lever.name)
    scenario = yaml.safe_load((folder / "high.yaml").read_text(encoding="utf-8"))
    lever = yaml.safe_load((folder / "levers" / "ai_agents.yaml").read_text(encoding="utf-8"))
    originals = {p: p.read_bytes() for p in [folder / "high.yaml", folder / "levers" / "ai_agents.yaml"]}

    @settings(FUZZ, max_examples=CASES["scenarios"])
    @given(which=st.sampled_from(["scenario", "lever"]), data=st.data())
    def case(which, data):
        for p, content in originals.items():
            p.write_bytes(content)
        target = folder / "high.yaml" if which == "scenario" else folder / "levers" / "ai_agents.yaml"
        text = data.draw(yaml_texts(scenario if which == "scenario" else lever))
        target.write_text(text, encoding="utf-8", errors="surrogateescape")
        # `show` loads and checks the whole folder (as `list` and a refresh do), then prints the levers
        assert_works_or_one_line(*run_cli("scenarios", "show", "high", "--dir", str(folder)))

    case()


# -- backtest panels ---------------------------------------------------------------------------

cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", "NA", "nan", "inf", "-inf", "1,000", "x", '"', "=1+1", "１２"]),
    st.text(max_size=8),
)
dates = st.one_of(
    st.dates().map(lambda d: d.strftime("%Y-%m-01")),
    st.dates().map(str),
    st.sampled_from(["", "2017-13-01", "2017-02-30", "not a date", "1e9", "2017"]),
    st.text(max_size=10),
)


@st.composite
def panels(draw) -> str:
    """A long-format CSV: mostly well-formed monthly series with random flaws, sometimes anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(texts)
    columns = ["unique_id", "ds", "y"]
    if draw(st.booleans()):
        columns.append(draw(st.sampled_from(["usdjpy", "x", "y", "ds", "", "unique_id"])))
    if draw(st.integers(0, 4)) == 0:
        columns = draw(st.permutations(columns))[: draw(st.integers(0, len(columns)))]
    lines = [",".join(columns)]
    for uid in draw(st.lists(st.sampled_from(["a", "b", "", "c,d", "=SUM(A1)"]), min_size=1, max_size=3, unique=True)):
        n = draw(st.integers(0, 40))
        start = draw(st.integers(2000, 2020))
        flaws = draw(st.sets(st.integers(0, max(n - 1, 0)), max_size=4)) if n else set()
        for i in range(n):
            row = {
                "unique_id": uid,
                "ds": f"{start + (i // 12)}-{i % 12 + 1:02d}-01",
                "y": repr(100.0 + i + 5 * math.sin(i)),
                "usdjpy": repr(110.0 + i % 7),
                "x": "1.0",
                "": "",
            }
            if i in flaws:
                row[draw(st.sampled_from(["ds", "y", "unique_id", "usdjpy"]))] = draw(st.one_of(cells, dates))
            lines.append(",".join(str(row.get(c, "")) for c in columns))
    return "\n".join(lines) + "\n"


def test_fuzzed_backtest_panels(work):
    data, output = work / "panel.csv", work / "backtest-out"

    @settings(FUZZ, max_examples=CASES["panels"])
    @given(
        panel=panels(),
        freq=st.sampled_from(["MS", "MS", "MS", "QS", "YS", "D", "xx"]),
        horizon=st.integers(1, 13),
        origins=st.integers(1, 3),
        exog=st.booleans(),
    )
    def case(panel, freq, horizon, origins, exog):
        data.write_text(panel, encoding="utf-8", errors="surrogateescape")
        models = "naive,drift" if not exog else "naive,sarimax"
        assert_works_or_one_line(
            *run_cli(
                "backtest",
                "--data",
                str(data),
                "--freq",
                freq,
                "--horizon",
                str(horizon),
                "--origins",
                str(origins),
                "--models",
                models,
                "--n-jobs",
                "1",
                "--output",
                str(output),
            )
        )

    case()


# -- official data files -----------------------------------------------------------------------


def _lines_mutated(text: str, draw) -> str:
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "duplicate", "edit cell", "truncate", "swap"]))
        if action == "drop":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            cells_ = lines[i].split(",")
            k = draw(st.integers(0, len(cells_) - 1))
            cells_[k] = draw(st.one_of(cells, dates))
            lines[i] = ",".join(cells_)
    return "\n".join(lines) + "\n"


DATA_FILES = {
    "flat": (ROOT / "tests" / "data" / "bad_unit.csv", "utf-8"),
    "mof": (ROOT / "tests" / "data" / "sources" / "mof_6s-2-4.csv", "cp932"),
    "boj": (ROOT / "tests" / "data" / "sources" / "bp_m_en.csv", "utf-8"),
}


def test_fuzzed_data_files(work):
    target = work / "file.csv"
    originals = {name: path.read_bytes().decode(enc) for name, (path, enc) in DATA_FILES.items()}
    originals["flat"] = originals["flat"].replace(",yen,", ",100m_yen,")  # start from a valid file

    @settings(FUZZ, max_examples=CASES["data_files"])
    @given(
        which=st.sampled_from(sorted(originals)),
        fmt=st.sampled_from(["auto", "auto", "mof", "boj-flat"]),
        encoding=st.sampled_from(["utf-8", "cp932"]),
        data=st.data(),
    )
    def case(which, fmt, encoding, data):
        text = data.draw(st.one_of(st.just(None), texts)) if data.draw(st.integers(0, 9)) == 0 else None
        text = text if text is not None else _lines_mutated(originals[which], data.draw)
        target.write_bytes(text.encode(encoding, errors="replace"))
        assert_works_or_one_line(
            *run_cli("data", "validate", str(target), "--format", fmt, "--data-dir", str(work / "vintages"))
        )

    case()


def test_at_least_a_thousand_cases():
    assert sum(CASES.values()) >= 1000
