"""What ``deficit refresh`` prints for an annual projection study."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from experiments.reports.exog import print_exog_board


def _fmt(value, digits: int = 0) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def print_annual(console: Console, outcome) -> None:
    console.print(_evidence_table(outcome))
    console.print(_leaderboard_table(outcome))
    print_exog_board(console, outcome.study, outcome.exog_board, outcome.metric, outcome.publication_lag_days)
    if outcome.check is not None and len(outcome.check):
        console.print(_check_table(outcome))
    _print_scenarios(console, outcome)
    console.print(
        f"registered {outcome.registered_model} version {outcome.version} as @champion (scenario = pyfunc param); "
        f"run {outcome.parent_run_id}; projections: {outcome.projections_path}; fan charts: "
        f"{len(outcome.charts)} PNG in {outcome.projections_path.parent} ({outcome.seconds:.1f} s)",
        soft_wrap=True,
    )


def _evidence_table(outcome) -> Table:
    table = Table(title=f"{outcome.study}: evidence per series (publication lag {outcome.publication_lag_days} days)")
    for col in ("series", "years: published / missing", "h", "scored origins", "model (chosen by)"):
        table.add_column(col, justify="right" if col in ("h", "scored origins") else "left", no_wrap=col == "series")
    chosen = outcome.selection.set_index("unique_id")
    for ev in outcome.evidence.itertuples(index=False):
        star = "" if ev.role == "target" else " *"
        table.add_row(
            f"{ev.unique_id}{star}",
            f"{ev.published_years} ({ev.first_year}-{ev.last_year}) / {ev.missing_years}",
            str(ev.horizon),
            str(ev.scored_origins),
            f"{chosen.loc[ev.unique_id, 'model']} ({chosen.loc[ev.unique_id, 'basis']})",
        )
    table.caption = "* supporting series (longer evidence); the main targets are projected and fan-charted"
    return table


def _leaderboard_table(outcome) -> Table:
    metric, board = outcome.metric, outcome.leaderboard
    summary = (
        board.groupby("model")
        .agg(
            mean_rank=("rank", "mean"),
            metric=(metric, "mean"),
            series=("unique_id", "nunique"),
            origins=("n_origins", "sum"),
        )
        .sort_values(["series", "mean_rank", "metric"], ascending=[False, True, True])
    )
    table = Table(title=f"{outcome.study}: leaderboard, forecast mode (backtest {metric.upper()}, lower is better)")
    for col in ("model", "mean rank", f"mean {metric}", "series", "origins"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, row in summary.iterrows():
        table.add_row(
            model, f"{row['mean_rank']:.2f}", f"{row['metric']:.3f}", str(int(row["series"])), str(int(row["origins"]))
        )
    return table


def _check_table(outcome) -> Table:
    table = Table(title=outcome.note.splitlines()[0].lstrip("# "))
    for col in ("model", "exog mode", "projection", "80% interval", "published", "inside 80%"):
        table.add_column(
            col,
            justify="left" if col in ("model", "exog mode") else "right",
            no_wrap=col in ("model", "projection", "published"),
        )
    for r in outcome.check.itertuples(index=False):
        table.add_row(
            r.model,
            f"{r.exog_mode}{' (upper bound)' if r.upper_bound else ''}",
            _fmt(r.mean),
            f"[{_fmt(r.lo_80)}, {_fmt(r.hi_80)}]",
            _fmt(r.y),
            "yes" if r.inside_80 else "no",
        )
    return table


def _print_scenarios(console: Console, outcome) -> None:
    end = outcome.projections["ds"].dt.year.max()
    _scenario_table(
        console,
        outcome.projections,
        outcome.selection["unique_id"].tolist()[:3],
        end,
        f"{outcome.study}: {end} by scenario, served models (億円; intervals in the CSV and charts)",
    )
    if outcome.sensitivity is not None and len(outcome.sensitivity):
        for model, rows in outcome.sensitivity.groupby("model", sort=True):
            order = [u for u in outcome.selection["unique_id"] if u in set(rows["unique_id"])]
            _scenario_table(
                console,
                rows,
                order,
                end,
                f"{outcome.study}: {end} by scenario, {model} (adoption-aware sensitivity; not served)",
            )


def _scenario_table(console: Console, projections: pd.DataFrame, targets: list[str], year: int, title: str) -> None:
    """Rows = scenarios, columns = targets: the mean in ``year`` (億円)."""
    at = projections[(projections["ds"].dt.year == year) & projections["unique_id"].isin(targets)]
    wide = at.pivot(index="scenario", columns="unique_id", values="yhat")[targets]
    table = Table(title=title)
    table.add_column("scenario", no_wrap=True)
    for uid in targets:
        table.add_column(uid.split(".")[-1] if uid.startswith("digital_mof3.") else uid, justify="right", no_wrap=True)
    for scenario, row in wide.iterrows():
        table.add_row(scenario, *[_fmt(v) for v in row])
    console.print(table)
