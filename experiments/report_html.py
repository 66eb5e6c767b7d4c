"""The analyst's HTML report of a study's refresh: champions, projections, error by horizon,
leaderboard and skipped models, with the charts embedded so the file stands alone."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from experiments.fan_charts import pyplot
from experiments.report_console import BASELINE, target_summary
from forecast.reconciliation import METHODS as RECONCILE_METHODS

TEMPLATES = Path(__file__).with_name("templates")
METRIC_COLUMNS = ["mase", "smape", "rmse", "pinball", "coverage_80", "coverage_95"]
HISTORY_PERIODS = 60  # months of history drawn before each projection


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


def fan_chart_png(panel: pd.DataFrame, projections: pd.DataFrame) -> str:
    targets = sorted(projections["unique_id"].unique())
    fig, axes = _grid(len(targets))
    for ax, uid in zip(axes, targets, strict=False):
        hist = panel[panel["unique_id"] == uid].tail(HISTORY_PERIODS)
        proj = projections[projections["unique_id"] == uid]
        ax.plot(hist["ds"], hist["y"], color="black", lw=1, label="observed")
        ax.fill_between(proj["ds"], proj["yhat_lo_95"], proj["yhat_hi_95"], color="tab:blue", alpha=0.15, lw=0, label="95%")
        ax.fill_between(proj["ds"], proj["yhat_lo_80"], proj["yhat_hi_80"], color="tab:blue", alpha=0.3, lw=0, label="80%")
        ax.plot(proj["ds"], proj["yhat"], color="tab:blue", lw=1.3, label=str(proj["model"].iloc[0]))
        ax.set_title(uid, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_ylabel("100 million yen (oku)", fontsize=7)  # CJK glyphs are not in the default font
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    return _png(fig)


def horizon_chart_png(by_h: pd.DataFrame, metric: str) -> str:
    from matplotlib.ticker import MaxNLocator

    targets = sorted(by_h["unique_id"].unique())
    fig, axes = _grid(len(targets))
    for ax, uid in zip(axes, targets, strict=False):
        for model, rows in by_h[by_h["unique_id"] == uid].groupby("model"):
            ax.plot(rows["h"], rows[metric], lw=1.5 if model == BASELINE else 1, label=model,
                    ls="--" if model == BASELINE else "-")
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
    return [{"unique_id": r["unique_id"], "model": r["model"], "published": r["published"], "base": fmt_number(r["base"]),
             **{m: fmt_number(r[m]) for m in RECONCILE_METHODS}} for r in table.to_dict("records")]


def render_study_report(outcome, panel: pd.DataFrame, by_h: pd.DataFrame, settings, data_vintage: str,
                        credit: str | None = None) -> str:
    """HTML text of the report for one refreshed study (``outcome`` is a refresh StudyOutcome)."""
    metric = outcome.metric
    targets = target_summary(outcome.leaderboard, outcome.champions, metric)
    first = outcome.projections.groupby("unique_id").first()
    board = outcome.leaderboard.assign(champion=lambda b: b["model"] == b["unique_id"].map(outcome.champions))
    return render_template(
        "study_report.html.j2",
        study=outcome.study, registered_model=outcome.registered_model, version=outcome.version,
        alias=outcome.decision.alias, gate_reason=outcome.decision.reason, data_vintage=data_vintage,
        run_id=outcome.parent_run_id, horizon=settings.horizon, n_origins=settings.n_origins, metric=metric,
        targets=[
            {"unique_id": r.unique_id, "champion": r.champion, "score": fmt_number(getattr(r, metric)),
             "baseline": fmt_number(getattr(r, f"{BASELINE}_{metric}")), "ratio": fmt_number(r.ratio, 2),
             "last_observed": first.loc[r.unique_id, "last_observed"],
             "source_vintage": first.loc[r.unique_id, "source_vintage"]}
            for r in targets.itertuples(index=False)
        ],
        fan_png=fan_chart_png(panel, outcome.projections),
        horizon_png=horizon_chart_png(by_h, metric),
        metric_columns=METRIC_COLUMNS,
        leaderboard=[{**row, **{m: fmt_number(row[m]) for m in METRIC_COLUMNS}} for row in board.to_dict("records")],
        skipped=outcome.skipped.to_dict("records"),
        reconciliation=_reconciliation_rows(outcome.reconciliation),
        reconcile_methods=list(RECONCILE_METHODS),
        credit=credit,
    )
