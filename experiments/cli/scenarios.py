"""``deficit scenarios list|show``: the projection scenarios of ``configs/scenarios``."""

from __future__ import annotations

from pathlib import Path

import typer

scenarios_app = typer.Typer(no_args_is_help=True, help="Projection scenarios (configs/scenarios/*.yaml).")

_DIR_OPTION = typer.Option(None, "--dir", help="Scenario folder (default: configs/scenarios of the package).")


def _load(directory: Path | None):
    from experiments.scenarios import load_scenarios
    from features.ai_adoption import load_adoption_config

    paths = tuple(load_adoption_config().quantiles)
    return load_scenarios(directory, adoption_paths=paths)


@scenarios_app.command("list")
def scenarios_list(directory: Path | None = _DIR_OPTION) -> None:
    """One entry per scenario: name, USD/JPY change, adoption path, overlays, then its description."""
    for name, s in _load(directory).items():
        overlays = ", ".join(o.name for o in s.overlays) or "-"
        levers = ", ".join(f"{lever} {setting}" for lever, setting in s.levers.items()) or "-"
        typer.echo(
            f"{name:<22} USD/JPY {s.fx.usdjpy_change_pct:+g}%  adoption {s.adoption:<7} levers {levers}"
            + (f"  overlays {overlays}" if s.overlays else "")
        )
        typer.echo(f"    {s.description}")


@scenarios_app.command("show")
def scenarios_show(
    name: str = typer.Argument(..., help="Scenario name, e.g. yen_weak."),
    directory: Path | None = _DIR_OPTION,
    until: int = typer.Option(2030, "--until", help="Last year of the overlay table."),
) -> None:
    """A scenario's settings; for each lever its numbers with their sources and its effect per year
    (億円, or a share of the baseline) up to --until; for overlays the amount per year."""
    import pandas as pd
    import yaml

    from experiments.scenarios import pick, scenario_levers

    scenarios = _load(directory)
    scenario = scenarios[pick(scenarios, name)]
    typer.echo(yaml.safe_dump(scenario.summary(), allow_unicode=True, sort_keys=False).rstrip())
    levers = scenario_levers(directory)
    for lever_name, setting in scenario.levers.items():
        lever = levers[lever_name]
        effect = lever.full_effect(setting)
        unit = "億円 a year" if lever.form == "overlay" else f"of the baseline {lever.base}"
        shown = f"{effect:,.0f}" if lever.form == "overlay" else f"{effect:.2%}"
        typer.echo(f"\nlever {lever.name} ({setting}): {lever.description}")
        typer.echo(f"  {lever.flow} ({lever.item}) {'+' if lever.sign > 0 else '-'}{shown} {unit} at full effect")
        for factor, number in lever.factors.items():
            typer.echo(
                f"  {factor} = {number.value(setting):,.10g} {number.unit} (low {number.low:,.10g}, high {number.high:,.10g})"
            )
            for source in number.sources:
                typer.echo(f"      source: {source.text()}")
        for year in range(lever.path[0].year - 1, until + 1):
            share = float(lever.ramp([year])[0])
            amount = (
                f"{lever.sign * effect * share:>10,.0f} 億円"
                if lever.form == "overlay"
                else f"{lever.sign * effect * share:>8.2%}"
            )
            typer.echo(f"  {year}: share {share:.2f}  {amount}")
        for source in lever.path_sources:
            typer.echo(f"      path source: {source.text()}")
    for overlay in scenario.overlays:
        years = pd.date_range(f"{overlay.ramp_start - 1}-01-01", f"{until}-01-01", freq="YS")
        typer.echo(
            f"\noverlay {overlay.name}: {overlay.full_annual_yen():,.0f} yen a year at full ramp "
            f"= {overlay.full_annual_yen() / 1e8:,.0f} 億円"
        )
        for ds in years:
            typer.echo(f"  {ds.year}: share {overlay.share(ds.year):.2f}  {overlay.amount(ds, 'YS'):>10,.0f} 億円")
