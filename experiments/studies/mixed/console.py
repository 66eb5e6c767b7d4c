"""Console summary of a mixed-frequency study's refresh."""

from __future__ import annotations

from rich.table import Table


def print_mixed(console, outcome) -> None:
    table = Table(title=f"{outcome.study}: one year ahead from each origin (mean scaled error, lower is better)")
    for col in ("series", "method", "totals", "scaled error", "cov 80%", "cov 95%"):
        table.add_column(col, justify="left" if col in ("series", "method") else "right")
    for _, r in outcome.scores.iterrows():
        mark = " *" if outcome.selected.get(r["unique_id"]) == r["method"] else ""
        table.add_row(
            r["unique_id"],
            f"{r['method']}{mark}",
            str(int(r["totals"])),
            f"{r['mean_scaled_error']:.3f}",
            "" if r["coverage_80"] != r["coverage_80"] else f"{r['coverage_80']:.2f}",
            "" if r["coverage_95"] != r["coverage_95"] else f"{r['coverage_95']:.2f}",
        )
    console.print(table)
    for uid in outcome.selected:
        best = outcome.disaggregation[outcome.disaggregation["unique_id"] == uid].set_index("method")["mase"]
        console.print(
            f"{uid}: estimates by {outcome.estimators[uid]} (chosen on the validation block; hidden-months MASE "
            f"{best.get(outcome.estimators[uid], float('nan')):.3f}; flat split {best.get('flat_split', float('nan')):.3f}, "
            f"profile split {best.get('profile_split', float('nan')):.3f}), forecasts by {outcome.selected[uid]}",
            soft_wrap=True,
        )
    base = outcome.paths[outcome.paths["scenario"] == "baseline"]
    first = base.loc[base["kind"] == "forecast", "ds"].min()
    check = outcome.totals_check
    totals = (
        "no published total beyond the monthly figures"
        if check.empty
        else f"{int(check['within_rounding'].sum())} of {len(check)} published totals reproduced within their rounding"
    )
    console.print(
        f"{outcome.study}: estimates to {outcome.last_figure:%Y-%m}, forecasts {first:%Y-%m}.."
        f"{base['ds'].max():%Y-%m}; {totals}; interval factor {outcome.factor:.2f}; "
        f"registered {outcome.registered_model} version {outcome.version} (@champion) ({outcome.seconds:.1f} s)",
        soft_wrap=True,
    )
    if outcome.projections_path is not None:
        console.print(f"projections: {outcome.projections_path}  report: {outcome.report_path}", soft_wrap=True)
