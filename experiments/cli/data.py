"""``deficit data ...``: the official-data snapshot, the connectors and the vintage store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import typer

from experiments.cli.vintages import COMMANDS as VINTAGE_COMMANDS
from features.sources.boj_api import CREDIT, DEFAULT_BASE_URL  # light: no pandas at start-up

data_app = typer.Typer(no_args_is_help=True, help="Official data: the bundled snapshot, BOJ/MOF connectors, vintages.")
for _name, _command in VINTAGE_COMMANDS.items():
    # the dict's values join to ``function``, which typer's decorator TypeVar does not accept
    data_app.command(_name)(cast(Callable[..., Any], _command))


@data_app.command("browse")
def data_browse(
    db: str = typer.Option(..., "--db", help="BOJ database, e.g. BP01."),
    frequency: str = typer.Option(..., "--frequency", help="CY, FY, CH, FH, Q, M, W or D."),
    layer: str = typer.Option(..., "--layer", help="Layer path: layer 1 required, up to 5, '*' = any, e.g. 1,2,*."),
    lang: str = typer.Option("jp", "--lang", help="jp or en (names and units in that language)."),
    base_url: str = typer.Option(DEFAULT_BASE_URL, "--base-url", help="BOJ API base URL."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds to wait for each answer."),
) -> None:
    """List the series codes and names under a layer of a BOJ database (getDataLayer); nothing is stored."""
    from features.sources.boj_api import BojApiClient

    if lang not in ("jp", "en"):
        raise typer.BadParameter(f"{lang!r} is not jp or en", param_hint="--lang")
    language = cast(Literal["jp", "en"], lang)  # checked just above
    result = BojApiClient(base_url, timeout=timeout).get_data_layer(db, frequency, layer, lang=language)
    typer.echo(
        f"{db} layer {layer} frequency {frequency.upper()}: {len(result.series)} series "
        f"({len(result.responses)} page(s), as of {result.date})"
    )
    width = max((len(s.code) for s in result.series), default=0)
    for s in result.series:
        span = f"{s.dates[0]}..{s.dates[-1]}" if s.dates else "no periods"
        # The name goes last: its width in a terminal is not its length (full-width characters).
        typer.echo(f"{s.code:<{width}}  {span}  {s.unit}  {s.name}")
    typer.echo(CREDIT)


@data_app.command("snapshot")
def data_snapshot(
    source: Path = typer.Option(Path("../shared/data"), "--from", help="Folder of the reference files (SOURCES.md)."),
    out: Path = typer.Option(None, "--out", help="Where to write (default: the package's snapshot folder)."),
) -> None:
    """Rebuild the bundled snapshot from the reference files of official figures."""
    from features.snapshot import DEFAULT_SNAPSHOT_DIR
    from features.snapshot_build import build_snapshot

    manifest = build_snapshot(source, out or DEFAULT_SNAPSHOT_DIR)
    typer.echo(
        f"snapshot written to {out or DEFAULT_SNAPSHOT_DIR}: {len(manifest['files'])} files, vintage {manifest['snapshot_vintage']}"
    )
