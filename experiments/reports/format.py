"""Amounts as a Japanese reader of BoP tables expects them: 億円 below one 兆円, 兆円 above, with
thousands separators, and a deficit (a negative balance) marked with ▲, the sign Japanese
statistical tables use for minus (MOF and BOJ releases print -6.65 兆円 as ▲6.65兆円)."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

OKU_PER_CHO = 10_000  # 1 兆円 (trillion yen) = 10,000 億円 (100 million yen)
DEFICIT_MARK = "▲"


def yen_text(oku: float | None) -> str:
    """``-66_500.0`` -> ``▲6.65 兆円``; ``1234.4`` -> ``1,234 億円``; missing -> ``—``."""
    if oku is None or (isinstance(oku, float) and math.isnan(oku)):
        return "—"
    size = abs(float(oku))
    sign = DEFICIT_MARK if oku < 0 and round(size) > 0 else ""  # no ▲0 億円
    if round(size) >= OKU_PER_CHO:
        return f"{sign}{size / OKU_PER_CHO:,.2f} 兆円"
    return f"{sign}{size:,.0f} 億円"


def yen_html(oku: float | None, deficit_title: str = "deficit") -> Markup:
    """:func:`yen_text` for a report cell; a deficit is also styled (class ``deficit``) and named
    in a tooltip, so it does not rest on colour or one glyph alone."""
    text = yen_text(oku)
    if text.startswith(DEFICIT_MARK):
        return Markup('<span class="deficit" title="{}">{}</span>').format(deficit_title, text)
    return Markup(escape(text))
