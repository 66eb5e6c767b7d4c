"""The tornado view of the scenario levers: each lever's low and high effect on one series in one year."""

from __future__ import annotations

import io

import pandas as pd

from experiments.reports.fan_charts import pyplot


def tornado_png(table: pd.DataFrame, title: str) -> bytes:
    """Horizontal bars from each row's ``low`` to its ``high`` effect (億円), widest on top; a row's
    ``central`` effect is marked. ``table``: lever, low, central, high."""
    rows = table.assign(width=(table["high"] - table["low"]).abs()).sort_values("width")
    plt = pyplot()  # imported on first use: most commands draw nothing
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.4))
    y = range(len(rows))
    lo = rows[["low", "high"]].min(axis=1)
    hi = rows[["low", "high"]].max(axis=1)
    ax.barh(
        list(y), (hi - lo).to_numpy(), left=lo.to_numpy(), color="tab:orange", alpha=0.7, label="low .. high setting"
    )
    ax.plot(rows["central"].to_numpy(), list(y), "k|", ms=14, label="central")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(list(y))
    ax.set_yticklabels(rows["lever"].tolist())
    ax.set_xlabel("effect on the balance, 100 million yen (negative = wider deficit)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def with_fx_rows(levers: pd.DataFrame, deltas: dict[str, float], fx_pct: float) -> pd.DataFrame:
    """The lever table plus the yen as a lever: the model's own response to USD/JPY -/+ ``fx_pct``%
    (``deltas``: scenario name -> effect, from the yen_strong and yen_weak projections)."""
    if not {"yen_strong", "yen_weak"} <= set(deltas):
        return levers
    fx = pd.DataFrame(
        [
            {
                "lever": f"yen (USD/JPY ±{fx_pct:g}%)",
                "flow": "payments and receipts",
                "form": "fx",
                "low": deltas["yen_strong"],
                "central": 0.0,
                "high": deltas["yen_weak"],
                "numbers": f"USD/JPY x {1 - fx_pct / 100:g} / x {1 + fx_pct / 100:g}",
                "path": "every projected period",
                "sources": "scenarios yen_strong / yen_weak; USD/JPY as published (FX_FRED_EXJPUS), then carried forward",
            }
        ]
    )
    return pd.concat([levers, fx], ignore_index=True)


def lever_context(table: pd.DataFrame | None, year: int) -> dict:
    """What the reports' lever section (templates/_levers.html.j2) needs."""
    from experiments.reports.html import png_data

    if table is None or table.empty:
        return {"levers_rows": []}

    def amount(v) -> str:
        return f"{v:,.0f}"

    rows = [
        {**r, "low": amount(r["low"]), "central": amount(r["central"]), "high": amount(r["high"])}
        for r in table.to_dict("records")
    ]
    return {
        "levers_rows": rows,
        "levers_year": year,
        "tornado": png_data(tornado_png(table, f"{year}: each lever alone, low .. high")),
    }
