"""The analyst's HTML report of an annual study: evidence and selection per series, the backtest
in forecast and oracle mode, fan charts under every scenario, the scenario deltas and sensitivity
projections of the last year, and the check-year note; the charts are embedded so the file stands alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from experiments.reports.html import fmt_number, png_data, render_template
from experiments.reports.tornado import lever_context
from experiments.scenarios import BASELINE
from forecast.metrics import reported_metrics


def _amount(value) -> str:
    return fmt_number(value, 0, ",")  # 億円, whole units


def _metrics(row: dict) -> dict:
    return {**row, **{m: fmt_number(row.get(m)) for m in reported_metrics()}}


def _by_scenario(frame: pd.DataFrame, targets: list[str], year: int) -> list[dict]:
    """Rows = scenarios (baseline first), columns = targets: the mean in ``year`` (億円)."""
    wide = frame[frame["ds"].dt.year == year].pivot(index="scenario", columns="unique_id", values="yhat")
    order = [BASELINE] + sorted(s for s in wide.index if s != BASELINE)
    return [{"scenario": s, "values": [_amount(wide.loc[s, uid]) for uid in targets]} for s in order]


def _sensitivity_block(model: str, rows: pd.DataFrame, targets: list[str], year: int) -> dict:
    order = [uid for uid in targets if uid in set(rows["unique_id"])]
    return {"model": model, "targets": order, "rows": _by_scenario(rows, order, year)}


def render_annual_report(study, outcome, charts: list[Path], version: str, run_id: str, data_vintage: str) -> str:
    """HTML text of the report of one annual study (``study``: AnnualStudyConfig, ``outcome``: its
    AnnualOutcome; ``charts``: the PNG files the study wrote)."""
    bt, sel = study.backtest, study.selection
    end = int(outcome.projections["ds"].dt.year.max())
    chosen = outcome.selection.set_index("unique_id")
    evidence = [
        {
            **ev,
            "model": chosen.loc[ev["unique_id"], "model"],
            "basis": chosen.loc[ev["unique_id"], "basis"],
            "reason": chosen.loc[ev["unique_id"], "reason"],
        }
        for ev in outcome.evidence.to_dict("records")
    ]
    deltas = outcome.deltas
    baseline_end = outcome.projections[outcome.projections["ds"].dt.year == end].groupby("unique_id")["yhat"].first()
    sensitivity = outcome.sensitivity if outcome.sensitivity is not None else pd.DataFrame()
    return render_template(
        "annual_report.html.j2",
        study=study.name,
        registered_model=study.registered_model,
        version=version,
        run_id=run_id,
        data_vintage=data_vintage,
        metric=bt.metric,
        horizon=bt.horizon,
        supporting_horizon=bt.supporting_horizon,
        lag_days=bt.publication_lag_days,
        projection_end=study.projection_end,
        check_year=study.check_year,
        targets=list(study.targets),
        scenarios=sorted(outcome.projections["scenario"].unique()),
        candidates=list(sel.candidates),
        min_origins=sel.min_origins,
        fallback=sel.fallback,
        max_origins=int(outcome.evidence["scored_origins"].max()),
        evidence=evidence,
        metric_columns=reported_metrics(),
        leaderboard=[
            {**_metrics(r), "selected": r["model"] == chosen["model"].get(r["unique_id"])}
            for r in outcome.leaderboard.to_dict("records")
        ],
        exog_board=[_metrics(r) for r in outcome.exog_board.to_dict("records")],
        charts=[{"name": path.stem, "png": png_data(Path(path).read_bytes())} for path in charts],
        end=end,
        deltas=[
            {"unique_id": uid, "baseline": _amount(baseline_end.get(uid)), "values": [_amount(v) for v in row]}
            for uid, row in deltas.iterrows()
        ],
        delta_scenarios=list(deltas.columns),
        sensitivity=[
            _sensitivity_block(model, rows, study.targets, end)
            for model, rows in (sensitivity.groupby("model", sort=True) if len(sensitivity) else [])
        ],
        note=outcome.note,
        **lever_context(outcome.levers, end),
    )
