"""Which figures a vintage revised relative to another (and which it added or dropped)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.sources.figures import series_ids


@dataclass(frozen=True)
class FigureDiff:
    revised: pd.DataFrame  # series, period, old, new, change: figures in both, with another value
    added: pd.DataFrame  # series, period, new: figures only in the new vintage
    dropped: pd.DataFrame  # series, period, old: figures only in the old vintage


def diff_figures(old: pd.DataFrame, new: pd.DataFrame) -> FigureDiff:
    def keyed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        return pd.DataFrame({"series": series_ids(frame), "period": frame["period"], name: frame["value"]})

    both = keyed(old, "old").merge(keyed(new, "new"), on=["series", "period"], how="outer", indicator=True)
    both = both.sort_values(["series", "period"]).reset_index(drop=True)
    # Values are decimal figures read from text, so unequal floats are different published figures.
    revised = both[(both["_merge"] == "both") & (both["old"] != both["new"])]
    return FigureDiff(
        revised=revised[["series", "period", "old", "new"]]
        .assign(change=revised["new"] - revised["old"])
        .reset_index(drop=True),
        added=both.loc[both["_merge"] == "right_only", ["series", "period", "new"]].reset_index(drop=True),
        dropped=both.loc[both["_merge"] == "left_only", ["series", "period", "old"]].reset_index(drop=True),
    )
