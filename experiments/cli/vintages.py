"""``deficit data fetch|import|list|show|validate|diff|export``: the vintaged store of official data.

Registered on the ``deficit data`` sub-app by :mod:`experiments.cli.data`. Every command that
displays figures from the BOJ API prints the BOJ's credit line under them. Heavy modules are
imported inside the commands, so ``deficit --help`` stays quick.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from features.data_defaults import BUNDLED, DEFAULT_BOJ_CATALOGUE, DEFAULT_DATA_DIR, NEWEST
from features.sources.boj_api import CREDIT, DEFAULT_BASE_URL  # light: no pandas at start-up

if TYPE_CHECKING:
    from features.vintages import SaveResult, VintageInfo


class Layout(str, Enum):
    auto = "auto"
    mof = "mof"
    boj_flat = "boj-flat"


class DiffFormat(str, Enum):
    table = "table"
    csv = "csv"


DATA_DIR = typer.Option(DEFAULT_DATA_DIR, "--data-dir", help="Vintage store (a folder; created on first write).")
CATALOGUE = typer.Option(DEFAULT_BOJ_CATALOGUE, "--catalogue", help="BOJ series catalogue (YAML).")


def _describe(info: VintageInfo) -> str:
    return (
        f"{info.id}  as of {info.as_of}  {info.source}  {info.figures:,} figures in {info.series} series "
        f"({info.first_period}..{info.last_period})  from {info.origin}"
    )


def _echo_saved(result: SaveResult) -> None:
    if result.created:
        typer.echo(f"new vintage {_describe(result.info)}")
    else:
        typer.echo(f"no new vintage: the same figures are stored as vintage {_describe(result.info)}")


def _credit_if_boj(*infos: VintageInfo) -> None:
    if any(i.source == "boj_api" for i in infos):
        typer.echo(CREDIT)


def fetch(
    base_url: str = typer.Option(DEFAULT_BASE_URL, "--base-url", help="BOJ API base URL."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds to wait for each answer."),
    data_dir: Path = DATA_DIR,
    catalogue: Path = CATALOGUE,
) -> None:
    """Fetch every catalogue series from the BOJ API and store the figures as a vintage."""
    from features.sources.boj_api import BojApiClient
    from features.sources.boj_catalogue import load_boj_catalogue
    from features.sources.boj_fetch import fetch_boj
    from features.vintages import VintageStore

    intake = fetch_boj(BojApiClient(base_url, timeout=timeout), load_boj_catalogue(catalogue), data_dir)
    _echo_saved(VintageStore(data_dir).save(intake))
    typer.echo(CREDIT)


def import_file(
    file: Path = typer.Argument(..., help="A MOF 6s-2-4 CSV or a BOJ bulk (BP) CSV."),
    layout: Layout = typer.Option(Layout.auto, "--format", help="File layout (auto: detect)."),
    as_of: str | None = typer.Option(None, "--as-of", help="When the file was published (ISO date); default now."),
    data_dir: Path = DATA_DIR,
    catalogue: Path = CATALOGUE,
) -> None:
    """Validate an official file and store its figures as a vintage (once per distinct content)."""
    from features.sources.boj_catalogue import load_boj_catalogue
    from features.sources.file_import import read_input
    from features.sources.intake import user_as_of
    from features.vintages import VintageStore

    stamp = user_as_of(as_of)
    intake = read_input(file, layout.value, stamp, load_boj_catalogue(catalogue), data_dir)
    _echo_saved(VintageStore(data_dir).save(intake))


def list_vintages(data_dir: Path = DATA_DIR) -> None:
    """List the stored vintages, oldest first (refresh uses the newest unless told otherwise)."""
    from features.vintages import VintageStore

    vintages = VintageStore(data_dir).list()
    if not vintages:
        typer.echo(f"no vintages in {data_dir}: refresh uses the bundled snapshot")
        return
    for info in vintages:
        typer.echo(("* " if info is vintages[-1] else "  ") + _describe(info))
    typer.echo("(* = newest)")
    _credit_if_boj(*vintages)


def show(
    ref: str = typer.Argument(NEWEST, help="Vintage id (or unique prefix), or 'newest'."),
    series: list[str] | None = typer.Option(None, "--series", help="Only these series, e.g. services_total.balance."),
    last: int = typer.Option(12, "--last", min=1, help="Number of most recent months shown."),
    data_dir: Path = DATA_DIR,
) -> None:
    """Show a vintage: where it came from and its most recent figures."""
    import pandas as pd

    from features.sources.figures import format_value, series_ids
    from features.vintages import VintageStore

    store = VintageStore(data_dir)
    info = store.get(ref)
    figures = store.figures(info).assign(series=lambda f: series_ids(f))
    if series:
        unknown = sorted(set(series) - set(figures["series"]))
        if unknown:
            raise typer.BadParameter(f"vintage {info.id} has no series {unknown[0]}", param_hint="--series")
        figures = figures[figures["series"].isin(series)]
    typer.echo(f"vintage {_describe(info)}")
    typer.echo(f"source: {info.title}; stored {info.created_at}")
    wide = figures.pivot(index="period", columns="series", values="value").sort_index().tail(last)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        typer.echo(wide.to_string(na_rep="—", float_format=format_value))
    _credit_if_boj(info)


def validate(
    file: Path | None = typer.Argument(None, help="A file to check (nothing is stored); none: check every vintage."),
    layout: Layout = typer.Option(Layout.auto, "--format", help="File layout (auto: detect)."),
    as_of: str | None = typer.Option(None, "--as-of", help="As-of date for the future-period rule; default now."),
    data_dir: Path = DATA_DIR,
    catalogue: Path = CATALOGUE,
) -> None:
    """Check a file against every input rule, or every stored vintage against its hashes and rules."""
    from features.sources.boj_catalogue import load_boj_catalogue
    from features.sources.figures import series_ids
    from features.sources.file_import import read_input
    from features.sources.intake import user_as_of
    from features.vintages import VintageStore

    if file is not None:
        stamp = user_as_of(as_of)
        figures = read_input(file, layout.value, stamp, load_boj_catalogue(catalogue), data_dir).figures
        typer.echo(
            f"ok: {file.name}: {len(figures):,} figures in {series_ids(figures).nunique()} series "
            f"({figures['period'].min()}..{figures['period'].max()}); nothing stored"
        )
        return
    store = VintageStore(data_dir)
    vintages = store.list()
    for info in vintages:
        store.verify(info)
        typer.echo(f"ok: vintage {info.id} ({info.figures:,} figures, hashes and rules hold)")
    if not vintages:
        typer.echo(f"no vintages in {data_dir}")


def diff(
    old: str | None = typer.Argument(None, help="Older vintage (default: the one before NEW)."),
    new: str = typer.Argument(NEWEST, help="Newer vintage (default: newest)."),
    fmt: DiffFormat = typer.Option(DiffFormat.table, "--format", help="table, or csv of the revised figures."),
    data_dir: Path = DATA_DIR,
) -> None:
    """List the figures NEW revised relative to OLD (and count those it added or dropped)."""
    from features.vintage_diff import diff_figures
    from features.vintages import VintageStore

    store = VintageStore(data_dir)
    new_info = store.get(new)
    old_info = store.get(old) if old else store.previous(new_info)
    result = diff_figures(store.figures(old_info), store.figures(new_info))
    if fmt is DiffFormat.csv:
        typer.echo(result.revised.to_csv(index=False, lineterminator="\n"), nl=False)
    else:
        typer.echo(
            f"{old_info.id} (as of {old_info.as_of}) -> {new_info.id} (as of {new_info.as_of}): "
            f"{len(result.revised)} revised, {len(result.added)} added, {len(result.dropped)} dropped"
        )
        if len(result.revised):
            typer.echo(result.revised.to_string(index=False))
    _credit_if_boj(old_info, new_info)


def export(
    out: Path = typer.Option(..., "--out", help="CSV file to write."),
    ref: str = typer.Option(BUNDLED, "--vintage", help="'bundled' (the package snapshot) or a vintage id."),
    data_dir: Path = DATA_DIR,
    catalogue: Path = CATALOGUE,
) -> None:
    """Write balance-of-payments figures in the BOJ bulk-file layout (readable by `data import`)."""
    from features.atomic import write_bytes_atomic
    from features.snapshot import load_snapshot
    from features.sources.boj_catalogue import load_boj_catalogue
    from features.sources.boj_flat import write_boj_flat
    from features.vintages import VintageStore

    if ref == BUNDLED:
        figures, label = load_snapshot().boj_monthly, "the bundled snapshot"
    else:
        store = VintageStore(data_dir)
        info = store.get(ref)
        figures, label = store.figures(info), f"vintage {info.id}"
    data = write_boj_flat(figures, load_boj_catalogue(catalogue))
    write_bytes_atomic(out, data)
    series = len(data.splitlines()) - 1  # one line per series under the header
    typer.echo(f"wrote {series} series of {label} to {out} (BOJ bulk layout)")


COMMANDS = {
    "fetch": fetch,
    "import": import_file,
    "list": list_vintages,
    "show": show,
    "validate": validate,
    "diff": diff,
    "export": export,
}
