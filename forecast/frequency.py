"""The calendar frequencies the toolkit forecasts at: their pandas aliases and seasonal periods."""

from __future__ import annotations

# Study configs name a frequency; panels and models work with its pandas alias (period starts).
FREQ_ALIAS: dict[str, str] = {"monthly": "MS", "quarterly": "QS", "annual": "YS"}

# Periods per seasonal cycle (the seasonal naive lag and the MASE scale's lag), by pandas alias.
SEASON_LENGTH: dict[str, int] = {"MS": 12, "QS": 4, "YS": 1}
