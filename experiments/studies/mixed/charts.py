"""The mixed-frequency study's chart: published months, estimates and forecasts in their own marks."""

from __future__ import annotations

import io

import pandas as pd

from experiments.reports.fan_charts import pyplot


def paths_chart_png(paths: pd.DataFrame, totals: dict[str, pd.DataFrame], labels: dict[str, str]) -> bytes:
    """One panel per target (baseline): published months as dots, estimates as a dashed line with
    their 80% band, forecasts as a solid line with 80/95% fans, and each published total drawn
    as its monthly average over its window (a horizontal bar)."""
    base = paths[paths["scenario"] == "baseline"]
    targets = list(dict.fromkeys(base["unique_id"]))
    plt = pyplot()  # imported on first use: most commands draw nothing
    fig, axes = plt.subplots(len(targets), 1, figsize=(11, 3.2 * len(targets)), squeeze=False)
    for ax, uid in zip(axes[:, 0], targets):
        rows = base[base["unique_id"] == uid].set_index("ds")
        pub = rows[rows["kind"] == "published"]
        est = rows[rows["kind"] == "estimate"]
        fc = rows[rows["kind"] == "forecast"]
        ax.fill_between(fc.index, fc["yhat_lo_95"], fc["yhat_hi_95"], color="tab:blue", alpha=0.12, lw=0)
        ax.fill_between(
            fc.index, fc["yhat_lo_80"], fc["yhat_hi_80"], color="tab:blue", alpha=0.25, lw=0, label="forecast 80/95%"
        )
        ax.plot(fc.index, fc["yhat"], color="tab:blue", lw=1.2, label="forecast")
        ax.fill_between(est.index, est["yhat_lo_80"], est["yhat_hi_80"], color="tab:orange", alpha=0.2, lw=0)
        ax.plot(est.index, est["yhat"], color="tab:orange", lw=1.0, ls="--", label="estimate (80%)")
        ax.plot(pub.index, pub["yhat"], "o", color="black", ms=2.5, label="published month")
        for i, (_, w) in enumerate(totals.get(uid, pd.DataFrame()).iterrows()):
            span = pd.date_range(w["start"], periods=int(w["months"]), freq="MS")
            ax.plot(
                [span[0], span[-1]],
                [w["value"] / w["months"]] * 2,
                color="tab:red",
                lw=2.2,
                label="published total / months" if i == 0 else None,
            )
        ax.set_title(f"{uid}: {labels.get(uid, uid)}", fontsize=10)
        ax.set_ylabel("100 million yen per month")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best", ncol=3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()
