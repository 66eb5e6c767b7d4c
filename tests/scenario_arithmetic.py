"""Scenario arithmetic recomputed from the YAML files alone (no project code), for the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml


def balance_change_by_hand(
    scenario_file: Path, year: int, baseline: dict[str, float], balance: str = "digital_mof3.balance"
) -> float:
    """A scenario's change of ``balance`` in ``year`` against the baseline (``baseline``: each
    series' baseline value in ``year``): the yen scales the baseline balance; each lever adds sign x
    the product of its numbers at the scenario's setting (x the baseline of its base series for
    share and price levers, yen -> 億円 for overlays) x its path share in ``year``, with the sign it
    has on the balance."""
    scenario = yaml.safe_load(Path(scenario_file).read_text(encoding="utf-8"))
    change = scenario.get("fx", {}).get("usdjpy_change_pct", 0) / 100 * baseline[balance]
    for name, setting in (scenario.get("levers") or {}).items():
        lever = yaml.safe_load((Path(scenario_file).parent / "levers" / f"{name}.yaml").read_text(encoding="utf-8"))
        product = float(np.prod([factor[setting] for factor in lever["factors"].values()]))
        years = [p["year"] for p in lever["path"]]
        share = float(np.interp(year, years, [p["share"] for p in lever["path"]])) if year >= years[0] else 0.0
        amount = product / 1e8 if lever["form"] == "overlay" else product * baseline[lever["base"]]
        change += lever["sign"] * amount * share * lever["targets"].get(balance, 0)
    return change
