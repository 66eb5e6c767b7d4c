"""Exchange-rate drivers: USD/JPY with the date each value became known, and the currency split.

Most of Japan's digital payments are invoiced in dollars, so a yen flow is read as a dollar
volume times the exchange rate: ``yen = usd_volume * usdjpy``. :func:`dollar_decomposition`
builds that split for a BoP series (yen in 億円 -> dollar volume in 億ドル, i.e. 100 million US$)
and refuses any input that became known after the origin it is built for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.exog import FX_REGRESSOR, fx_at_freq, usdjpy_monthly
from features.known import FX_MONTHLY_LAG_DAYS, KnownSeries, require_known, with_lag
from features.snapshot import Snapshot

USD_VOLUME = "usd_volume"  # 100 million US$ (億ドル) when the yen series is in 億円


def usdjpy_known(snapshot: Snapshot, freq: str = "MS") -> KnownSeries:
    """USD/JPY period averages at ``freq``; each known ``FX_MONTHLY_LAG_DAYS`` after its period ends."""
    level = fx_at_freq(usdjpy_monthly(snapshot), freq)
    return with_lag(level, freq, FX_MONTHLY_LAG_DAYS)


def dollar_decomposition(yen: KnownSeries, usdjpy: KnownSeries, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """``yen``, ``usdjpy``, ``usd_volume`` = yen / usdjpy and ``usdjpy_log`` on the periods of ``yen``.

    With ``as_of``, every value it uses (the yen values and the rates of their periods) must have
    been known by then (LeakageError otherwise): the builder does not quietly drop a late value,
    so the caller's slicing is checked.
    A period whose rate is missing has a missing dollar volume (nothing is filled).
    """
    index = yen.values.index
    rate = usdjpy.values.reindex(index).astype(float)
    require_known(yen, as_of, f"series '{yen.name}'")
    require_known(KnownSeries(rate, usdjpy.known_at.reindex(index)), as_of, "USD/JPY")
    value = yen.values.astype(float)
    return pd.DataFrame(
        {
            "yen": value,
            "usdjpy": rate,
            USD_VOLUME: value / rate,
            FX_REGRESSOR: np.log(rate),
        },
        index=yen.values.index,
    )
