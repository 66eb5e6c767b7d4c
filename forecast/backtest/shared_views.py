"""Origin views built once per series and shared by every model's tasks (``share_features``).

What an origin may see (:func:`~forecast.backtest.exog_modes.view_for_settings`: the published
target, each driver's known values and its path after the cutoff) depends on the series, the
cutoff, the exogenous mode and whether the model reads drivers, not on the model. By default every
(series, model) task rebuilds its views; with ``BacktestSettings.share_features`` the parent
process builds each distinct view once and hands every task the views of its origins, so the
models of a series see the very same data (forecasts are identical either way).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import pandas as pd

from forecast.backtest.exog_modes import OriginView, compared_modes, view_for_settings
from forecast.errors import ModelNotApplicable

# (cutoff, mode) -> the view, or the ModelNotApplicable its construction raised; mode None = primary.
TaskViews = dict[tuple[pd.Timestamp, str | None], OriginView | ModelNotApplicable]
ViewOf = Callable[..., OriginView]


class SharedViews:
    """Memo of the views of every series of a backtest, filled as tasks are laid out."""

    def __init__(self, series: dict[Hashable, tuple[pd.Series, pd.DataFrame | None]], settings) -> None:
        self._series = series
        self._settings = settings
        self._memo: dict[tuple, OriginView | ModelNotApplicable] = {}

    def for_task(self, uid: Hashable, uses_exog: bool, cutoffs: Sequence[pd.Timestamp], origins: range) -> TaskViews:
        """The views a task needs: its origins' primary view and, where compared, the other modes'."""
        y, X = self._series[uid]
        X = X if uses_exog else None
        out: TaskViews = {}
        for position in origins:
            cutoff = cutoffs[position]
            modes = compared_modes(self._settings, position, len(cutoffs)) if X is not None else ()
            for mode in (None, *modes):
                key = (uid, X is not None, cutoff, mode)
                if key not in self._memo:
                    try:
                        self._memo[key] = view_for_settings(y, X, cutoff, self._settings, mode)
                    except ModelNotApplicable as exc:  # raised again in every task that needs it
                        self._memo[key] = exc
                out[(cutoff, mode)] = self._memo[key]
        return out


def view_lookup(views: TaskViews | None, y: pd.Series, X: pd.DataFrame | None, settings) -> ViewOf:
    """``view_of(cutoff, mode=None)``: the shared view when there is one, else built here."""

    def view_of(cutoff: pd.Timestamp, mode: str | None = None) -> OriginView:
        view = views.get((cutoff, mode)) if views is not None else None
        if view is None:
            return view_for_settings(y, X, cutoff, settings, mode)
        if isinstance(view, ModelNotApplicable):
            raise view
        return view

    return view_of
