"""``deficit data ...``: the official-data snapshot, the connectors and the vintage store."""

from __future__ import annotations

from pathlib import Path

import typer

from experiments.cli_vintages import COMMANDS as VINTAGE_COMMANDS

data_app = typer.Typer(no_args_is_help=True, help="Official data: the bundled snapshot, BOJ/MOF connectors, vintages.")
for _name, _command in VINTAGE_COMMANDS.items():
    data_app.command(_name)(_command)


@data_app.command("snapshot")
def data_snapshot(
    source: Path = typer.Option(Path("../shared/data"), "--from", help="Folder of the reference files (SOURCES.md)."),
    out: Path = typer.Option(None, "--out", help="Where to write (default: the package's snapshot folder)."),
) -> None:
    """Rebuild the bundled snapshot from the reference files of official figures."""
    from features.snapshot import DEFAULT_SNAPSHOT_DIR
    from features.snapshot_build import build_snapshot

    manifest = build_snapshot(source, out or DEFAULT_SNAPSHOT_DIR)
    typer.echo(f"snapshot written to {out or DEFAULT_SNAPSHOT_DIR}: {len(manifest['files'])} files, vintage {manifest['snapshot_vintage']}")
