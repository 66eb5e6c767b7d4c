"""The analyst's HTML report of a study's refresh: champions, projections and their amounts,
error by horizon, leaderboard, Diebold-Mariano tests, residual diagnostics and skipped models,
with the charts embedded so the file stands alone. Rendered from the inputs logged with the run
(experiments/reports/inputs.py), in English or Japanese (experiments/reports/labels.py)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from experiments.reports.console import BASELINE, target_summary
from experiments.reports.fan_charts import pyplot
from experiments.reports.format import yen_html
from experiments.reports.inputs import StudyReport
from experiments.reports.labels import labels
from forecast.diagnostics import LJUNG_BOX_LAGS
from forecast.metrics import reported_metrics
from forecast.reconciliation import METHODS as RECONCILE_METHODS

TEMPLATES = Path(__file__).with_name("templates")


def png_data(png: bytes) -> str:
    """PNG bytes as the base64 text of a ``data:image/png`` URI, so the report stands alone."""
    return base64.b64encode(png).decode("ascii")


def render_template(name: str, **context) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template(name).render(**context)


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    pyplot().close(fig)
    return png_data(buffer.getvalue())


def _grid(n: int):
    plt = pyplot()
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def fan_chart_png(history: pd.DataFrame, projections: pd.DataFrame) -> str:
    targets = sorted(projections["unique_id"].unique())
    fig, axes = _grid(len(targets))
    for ax, uid in zip(axes, targets, strict=False):
        hist = history[history["unique_id"] == uid]
        proj = projections[projections["unique_id"] == uid]
        ax.plot(hist["ds"], hist["y"], color="black", lw=1, label="published")
        ax.fill_between(
            proj["ds"], proj["yhat_lo_95"], proj["yhat_hi_95"], color="tab:blue", alpha=0.15, lw=0, label="95%"
        )
        ax.fill_between(
            proj["ds"], proj["yhat_lo_80"], proj["yhat_hi_80"], color="tab:blue", alpha=0.3, lw=0, label="80%"
        )
        ax.plot(proj["ds"], proj["yhat"], color="tab:blue", lw=1.3, label=str(proj["model"].iloc[0]))
        ax.set_title(uid, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_ylabel("100 million yen (oku)", fontsize=7)  # CJK glyphs are not in the default font
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    return _png(fig)


def acf_chart_png(acf: pd.DataFrame) -> str:
    """One panel per champion: autocorrelations of its one-step errors and the ±1.96/√n band."""
    from matplotlib.ticker import MaxNLocator

    keys = list(acf.groupby(["unique_id", "model"], sort=True).groups)
    fig, axes = _grid(len(keys))
    for ax, (uid, model) in zip(axes, keys, strict=False):
        rows = acf[(acf["unique_id"] == uid) & (acf["model"] == model)]
        ax.vlines(rows["lag"], 0, rows["acf"], color="tab:blue", lw=2)
        bound = float(rows["bound"].iloc[0])
        ax.axhline(0, color="black", lw=0.6)
        for level in (bound, -bound):
            ax.axhline(level, color="grey", lw=0.8, ls="--")
        ax.set_ylim(-1, 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{uid} / {model}", fontsize=8)
        ax.set_xlabel("lag", fontsize=7)
        ax.set_ylabel("ACF", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def horizon_chart_png(by_h: pd.DataFrame, metric: str) -> str:
    from matplotlib.ticker import MaxNLocator

    targets = sorted(by_h["unique_id"].unique())
    fig, axes = _grid(len(targets))
    for ax, uid in zip(axes, targets, strict=False):
        for model, rows in by_h[by_h["unique_id"] == uid].groupby("model"):
            ax.plot(
                rows["h"],
                rows[metric],
                lw=1.5 if model == BASELINE else 1,
                label=model,
                ls="--" if model == BASELINE else "-",
            )
        ax.set_title(uid, fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # horizons are whole periods
        ax.set_xlabel("horizon", fontsize=7)
        ax.set_ylabel(metric.upper(), fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=5, loc="best", ncol=2)
    fig.tight_layout()
    return _png(fig)


def fmt_number(value, digits: int = 3, thousands: str = "") -> str:
    return "—" if value is None or pd.isna(value) else f"{value:{thousands}.{digits}f}"


def _reconciliation_rows(table: pd.DataFrame | None) -> list[dict]:
    """Backtest MASE per constrained target, base and each reconciliation method (None: off)."""
    if table is None:
        return []
    return [
        {
            "unique_id": r["unique_id"],
            "model": r["model"],
            "published": r["published"],
            "base": fmt_number(r["base"]),
            **{m: fmt_number(r[m]) for m in RECONCILE_METHODS},
        }
        for r in table.to_dict("records")
    ]


def _amount_rows(history: pd.DataFrame, projections: pd.DataFrame, deficit: str) -> list[dict]:
    """Per target: the last published figure and the projection at its first, 12th and last month."""

    def cell(row) -> dict:
        return {
            "when": f"{row['ds']:%Y-%m}",
            "value": yen_html(row["yhat"], deficit),
            "lo": yen_html(row["yhat_lo_80"], deficit),
            "hi": yen_html(row["yhat_hi_80"], deficit),
        }

    rows = []
    for uid, proj in projections.groupby("unique_id", sort=True):
        proj = proj.sort_values("ds").reset_index(drop=True)
        last = history[history["unique_id"] == uid].dropna(subset=["y"]).tail(1)
        rows.append(
            {
                "unique_id": uid,
                "last": {"when": f"{last['ds'].iloc[0]:%Y-%m}", "value": yen_html(last["y"].iloc[0], deficit)}
                if len(last)
                else None,
                "points": [cell(proj.iloc[i]) for i in sorted({0, min(11, len(proj) - 1), len(proj) - 1})],
            }
        )
    return rows


def _dm_tables(dm: pd.DataFrame, leaderboard: pd.DataFrame) -> list[dict]:
    """Per target, the p-value matrix with models in leaderboard order (row beats column?)."""
    tables = []
    for uid, pairs in dm.groupby("unique_id", sort=True):
        order = leaderboard[leaderboard["unique_id"] == uid].sort_values("rank")["model"].tolist()
        order += sorted(set(pairs["model"]) - set(order))
        p = pairs.set_index(["model", "versus"])["p_value"]
        rows = [
            {
                "model": a,
                "cells": [
                    None
                    if a == b
                    else {"p": fmt_number(p.get((a, b)), 3), "significant": bool(p.get((a, b), 1.0) < 0.05)}
                    for b in order
                ],
            }
            for a in order
        ]
        tables.append({"unique_id": uid, "models": order, "rows": rows})
    return tables


def _residual_rows(residuals: pd.DataFrame, t: dict) -> list[dict]:
    rows = []
    for r in residuals.to_dict("records"):
        pvalues = [r.get(f"lb_p_{k}") for k in LJUNG_BOX_LAGS]
        known = [p for p in pvalues if p is not None and not pd.isna(p)]
        verdict = "" if not known else (t["autocorrelated"] if min(known) < 0.05 else t["white_noise"])
        rows.append(
            {
                "unique_id": r["unique_id"],
                "model": r["model"],
                "n": int(r["n"]),
                "mean_error": fmt_number(r["mean_error"], 1, ","),
                "sd_error": fmt_number(r["sd_error"], 1, ","),
                "pvalues": [fmt_number(p, 3) for p in pvalues],
                "verdict": verdict,
            }
        )
    return rows


def render_study_report(report: StudyReport, lang: str = "en") -> str:
    """HTML text of the report of one refreshed study, from its logged inputs, in ``lang``."""
    t = labels(lang)
    meta = report.meta
    metric = meta["metric"]
    champions = meta["champions"]
    targets = target_summary(report.leaderboard, champions, metric)
    first = report.projections.groupby("unique_id").first()
    board = report.leaderboard.assign(champion=lambda b: b["model"] == b["unique_id"].map(champions))
    return render_template(
        "study_report.html.j2",
        lang=lang,
        t=t,
        study=meta["study"],
        registered_model=meta["registered_model"],
        version=meta["version"],
        alias=meta["alias"],
        gate_reason=meta["gate_reason"],
        data_vintage=meta["data_vintage"],
        run_id=meta["run_id"],
        metric=metric,
        backtest_text=t["backtest_text"].format(horizon=meta["horizon"], n_origins=meta["n_origins"], metric=metric),
        targets=[
            {
                "unique_id": r.unique_id,
                "champion": r.champion,
                "score": fmt_number(getattr(r, metric)),
                "baseline": fmt_number(getattr(r, f"{BASELINE}_{metric}")),
                "ratio": fmt_number(r.ratio, 2),
                "last_observed": first.loc[r.unique_id, "last_observed"],
                "source_vintage": first.loc[r.unique_id, "source_vintage"],
            }
            for r in targets.itertuples(index=False)
        ],
        amounts=_amount_rows(report.history, report.projections, t["deficit"]),
        fan_png=fan_chart_png(report.history, report.projections),
        horizon_png=horizon_chart_png(report.by_h, metric),
        metric_columns=reported_metrics(),
        leaderboard=[
            {**row, **{m: fmt_number(row[m]) for m in reported_metrics()}} for row in board.to_dict("records")
        ],
        dm_tables=_dm_tables(report.dm, report.leaderboard),
        dm_note=t["dm_note"].format(metric=metric, lags=meta["dm_lags"]),
        residuals=_residual_rows(report.residuals, t),
        ljung_box_headers=[t["ljung_box"].format(lag=k) for k in LJUNG_BOX_LAGS],
        acf_png=acf_chart_png(report.acf) if not report.acf.empty else None,
        skipped=report.skipped.to_dict("records"),
        reconciliation=_reconciliation_rows(report.reconciliation),
        reconcile_methods=list(RECONCILE_METHODS),
        credit=meta.get("credit"),
    )
