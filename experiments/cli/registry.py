"""``deficit registry ...``: inspect versions and move the champion alias by hand."""

from __future__ import annotations

import time
from pathlib import Path

import typer

registry_app = typer.Typer(no_args_is_help=True, help="Registered model versions, lineage and the champion alias.")

NAME = typer.Option("digital-deficit", "--name", "-n", help="Registered model name.")
MLRUNS = typer.Option(Path("mlruns"), "--mlruns-dir", help="Local store used when MLFLOW_TRACKING_URI is unset.")
LINEAGE_KEYS = (
    "data_vintage",
    "data_sha256",
    "study_sha256",
    "config_sha256",
    "code_version",
    "gate_decision",
    "gate_p_value",
    "gate_reason",
    "previous_champion",
    "promoted_at",
    "rolled_back_at",
)


def _client(mlruns_dir: Path):
    from experiments.tracking.store import resolve_tracking_uri, use_tracking

    return use_tracking(resolve_tracking_uri(None, mlruns_dir))


@registry_app.command("list")
def list_(name: str = NAME, mlruns_dir: Path = MLRUNS) -> None:
    """One line per version: aliases, gate decision, data vintage, mean backtest score."""
    from rich.console import Console
    from rich.table import Table

    from experiments.tracking import registry

    client = _client(mlruns_dir)
    versions = registry.list_versions(client, name)
    aliases = client.get_registered_model(name).aliases
    table = Table(title=f"{name}: versions")
    for col in ("version", "aliases", "gate", "p-value", "data vintage", "score", "created (UTC)"):
        table.add_column(col)
    for v in versions:
        tags, number = v.tags, str(v.version)
        score = next((val for key, val in tags.items() if key.startswith("backtest_") and key.endswith("_mean")), "")
        created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(v.creation_timestamp / 1000))
        table.add_row(
            number,
            ",".join(a for a, ver in aliases.items() if str(ver) == number),
            tags.get("gate_decision", ""),
            tags.get("gate_p_value", ""),
            tags.get("data_vintage", ""),
            score,
            created,
        )
    Console().print(table)


@registry_app.command("show")
def show(
    version: str = typer.Argument("champion", help="Version number or alias."),
    name: str = NAME,
    mlruns_dir: Path = MLRUNS,
) -> None:
    """Lineage and gate record of one version (default: the champion)."""
    from experiments.tracking import registry

    client = _client(mlruns_dir)
    mv = registry.alias_version(client, name, version) if not version.isdigit() else None
    if mv is None:
        mv = registry.get_version(client, name, version)
    typer.echo(f"{name} version {mv.version}  (run {mv.run_id})")
    for key in LINEAGE_KEYS:
        if mv.tags.get(key):
            typer.echo(f"  {key}: {mv.tags[key]}")
    for key in sorted(k for k in mv.tags if k.startswith("backtest_")):
        typer.echo(f"  {key}: {mv.tags[key]}")
    typer.echo(f"  recipe: {mv.tags.get('recipe', '')}")


@registry_app.command("promote")
def promote(
    version: str = typer.Argument(..., help="Version to make champion."), name: str = NAME, mlruns_dir: Path = MLRUNS
) -> None:
    """Point @champion at VERSION (recorded in the champion history, so rollback can undo it)."""
    from experiments.tracking import registry

    registry.promote(_client(mlruns_dir), name, version, reason="promoted by hand (deficit registry promote)")
    typer.echo(f"{name}: @champion -> version {version}")


@registry_app.command("rollback")
def rollback(name: str = NAME, mlruns_dir: Path = MLRUNS) -> None:
    """Move @champion back to the previous champion."""
    from experiments.tracking import registry

    old, new = registry.rollback(_client(mlruns_dir), name)
    typer.echo(f"{name}: @champion version {old} -> {new}")
