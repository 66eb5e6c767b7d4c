"""Fan charts of annual projections (matplotlib, written as PNG files)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def scenario_fan_grid(
    history: dict[str, pd.Series],
    projections: pd.DataFrame,
    scenarios: list[str],
    labels: dict[str, str],
    path: Path,
    title: str,
) -> Path:
    """One row per scenario, one column per target: the published history (points; gaps left
    open) and the scenario's projection with its 80% and 95% intervals. Values in 兆円 (trillion
    yen = 10,000 億円); each column shares its y axis so scenarios compare at a glance."""
    plt = pyplot()
    targets = list(history)
    fig, axes = plt.subplots(
        len(scenarios),
        len(targets),
        figsize=(3.6 * len(targets), 2.3 * len(scenarios)),
        squeeze=False,
        sharex=True,
        sharey="col",
    )
    for i, scenario in enumerate(scenarios):
        for j, uid in enumerate(targets):
            ax = axes[i][j]
            rows = projections[(projections["unique_id"] == uid) & (projections["scenario"] == scenario)]
            _fan(ax, history[uid], rows)
            if i == 0:
                ax.set_title(labels.get(uid, uid), fontsize=7)
            if j == 0:
                ax.set_ylabel(f"{scenario}\ntrillion yen", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=8)
    # fixed margins: tight_layout measures every axis' text, ~1 s for a grid of 11 scenarios x 3 targets
    top = 1 - 0.45 / fig.get_figheight()
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.3 / fig.get_figheight(), top=top, hspace=0.25, wspace=0.25)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _fan(ax, history: pd.Series, rows: pd.DataFrame) -> None:
    """The published history (points; gaps left open) and one projection with its 80% and 95%
    intervals, in 兆円."""
    hist = history / 1e4
    ax.plot(hist.index.year, hist.to_numpy(), "o-", color="black", ms=2.5, lw=1, label="published")
    if not len(rows):
        return
    years = rows["ds"].dt.year
    for level, alpha in ((95, 0.15), (80, 0.3)):
        lo, hi = rows[f"yhat_lo_{level}"] / 1e4, rows[f"yhat_hi_{level}"] / 1e4
        ax.fill_between(years, lo, hi, color="tab:blue", alpha=alpha, lw=0, label=f"{level}%")
    ax.plot(years, rows["yhat"] / 1e4, color="tab:blue", lw=1.3, label="projection")


def scenario_comparison_chart(
    history: pd.Series, projections: pd.DataFrame, target: str, path: Path, title: str, baseline: str = "baseline"
) -> Path:
    """The baseline fan of one target with every scenario's mean path on top."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    hist = history / 1e4
    ax.plot(hist.index.year, hist.to_numpy(), "o-", color="black", ms=3, lw=1, label="published")
    rows = projections[projections["unique_id"] == target]
    base = rows[rows["scenario"] == baseline]
    years = base["ds"].dt.year
    ax.fill_between(
        years, base["yhat_lo_80"] / 1e4, base["yhat_hi_80"] / 1e4, color="grey", alpha=0.25, label=f"{baseline} 80%"
    )
    for name, one in rows.groupby("scenario", sort=True):
        ax.plot(one["ds"].dt.year, one["yhat"] / 1e4, lw=2 if name == baseline else 1.2, label=name)
    ax.set_ylabel("trillion yen")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
