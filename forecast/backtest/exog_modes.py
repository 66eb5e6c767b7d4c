"""What a backtest origin may see: published target values and the drivers' values or forecasts.

An origin whose last training period is ``cutoff`` is dated ``as_of`` = the first day after that
period (see :mod:`features.known`). At that date:

* the target is known for the periods published by then: with ``publication_lag_days`` = L a
  period is published L days after it ends (L = 0: every period up to the cutoff; monthly BoP is
  about 42 days, so a month-end origin sees the target two months back). The model is fitted on
  the published part and forecasts through the unpublished periods to the horizon; only the
  ``horizon`` periods after the cutoff are scored, so results with and without a lag are scored
  on the same periods;
* each driver (exogenous column) is known for the periods whose value was known by ``as_of``
  (its :class:`DriverSpec`: ``known_lag_days`` after the period ends, or a ``realtime`` builder
  that computes the driver from what was published by a date).

Exogenous modes (what the model gets for the periods after the last published target):

* ``last_value``: the last known value of each driver carried forward (the engine's default);
* ``forecast``: each driver forecast at the origin by its own model (``random_walk`` = last known
  value, ``drift``, or the ``realtime`` builder's own path); nothing known after ``as_of`` is read;
* ``scenario``: the ``forecast`` path shifted by a fixed amount per column (e.g. log(1.15) on log
  USD/JPY for a 15% weaker yen);
* ``oracle``: the realised future values (and the realised history, whether or not it had been
  published). An upper bound that no forecaster could have had; its results are always labelled
  rows with ``exog_mode`` set (``oracle``) and kept apart from the forecasts that rank and select models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.builders import carry_forward
from features.known import next_period_start, period_end
from forecast.errors import ModelNotApplicable
from forecast.models.base import future_index

EXOG_MODES: tuple[str, ...] = ("last_value", "forecast", "oracle", "scenario")
DRIVER_MODELS: tuple[str, ...] = ("random_walk", "drift")
ORACLE = "oracle"


@dataclass(frozen=True)
class DriverSpec:
    """How one exogenous column becomes known and how it is forecast at an origin.

    ``realtime(as_of, index)``, when given, returns the column on ``index`` as it could have been
    computed on ``as_of`` (NaN where it could not); it replaces ``known_lag_days`` and ``model``.
    """

    column: str
    known_lag_days: int = 0
    model: str = "random_walk"
    realtime: Callable[[pd.Timestamp, pd.DatetimeIndex], pd.Series] | None = None

    def __post_init__(self) -> None:
        if self.model not in DRIVER_MODELS:
            raise ValueError(f"driver model {self.model!r} unknown; available: {', '.join(DRIVER_MODELS)}")
        if int(self.known_lag_days) < 0:
            raise ValueError("known_lag_days must be >= 0")


@dataclass(frozen=True)
class ExogOptions:
    """Drivers (columns without a spec: known when their period ends, random walk), the scenario
    shifts of ``scenario`` mode, and extra modes scored beside the primary one (``compare_modes``)
    at every ``compare_every``-th origin of a series (1: all; 3 keeps a third of the cost)."""

    drivers: tuple[DriverSpec, ...] = ()
    scenario: tuple[tuple[str, float], ...] = ()
    compare_modes: tuple[str, ...] = ()
    compare_every: int = 1

    def __post_init__(self) -> None:
        if int(self.compare_every) < 1:
            raise ValueError("compare_every must be >= 1")
        for mode in self.compare_modes:
            if mode not in EXOG_MODES:
                raise ValueError(f"exog mode {mode!r} unknown; available: {', '.join(EXOG_MODES)}")

    def driver(self, column: str) -> DriverSpec:
        for spec in self.drivers:
            if spec.column == column:
                return spec
        return DriverSpec(column)


@dataclass
class OriginView:
    """Everything a model may receive at one origin (``steps`` = periods it forecasts)."""

    as_of: pd.Timestamp
    y_hist: pd.Series
    X_hist: pd.DataFrame | None
    X_future: pd.DataFrame | None
    steps: int
    mode: str = "last_value"
    notes: list[str] = field(default_factory=list)


def _freqstr(y: pd.Series) -> str:
    return y.index.freq.freqstr if y.index.freq is not None else pd.infer_freq(y.index)


def published_until(y: pd.Series, cutoff: pd.Timestamp, lag_days: int) -> pd.Timestamp:
    """Last period of ``y`` published on the origin date of ``cutoff`` (lag 0: the cutoff)."""
    if int(lag_days) == 0:
        return cutoff
    freq = _freqstr(y)
    as_of = next_period_start(cutoff, freq)
    index = y.index[y.index <= cutoff]
    published = index[period_end(index, freq) + pd.Timedelta(days=int(lag_days)) <= as_of]
    if len(published) == 0:
        raise ModelNotApplicable(f"nothing of the series was published by the origin {as_of:%Y-%m-%d}")
    return published[-1]


def origin_view(
    y: pd.Series,
    X: pd.DataFrame | None,
    cutoff: pd.Timestamp,
    horizon: int,
    publication_lag_days: int = 0,
    exog_mode: str = "last_value",
    options: ExogOptions | None = None,
) -> OriginView:
    """The data one origin may use. ``X`` is the full exogenous frame on ``y``'s grid (realised
    values); only ``oracle`` reads its rows after the cutoff or values not yet known at ``as_of``."""
    if exog_mode not in EXOG_MODES:
        raise ValueError(f"exog_mode {exog_mode!r} unknown; available: {', '.join(EXOG_MODES)}")
    options = options or ExogOptions()
    freq = y.index.freq
    freqstr = _freqstr(y)
    as_of = next_period_start(cutoff, freqstr)
    last = published_until(y, cutoff, publication_lag_days)
    # Positions on the sorted grid instead of label masks: this runs at every fold of every model.
    # No copies: pandas' copy-on-write keeps a model's writes to its slice out of y and X.
    end = int(y.index.searchsorted(last, side="right"))
    y_hist = y.iloc[:end]
    steps = int(horizon) + int(y.index.searchsorted(cutoff, side="right")) - end
    view = OriginView(as_of, y_hist, None, None, steps, exog_mode)
    if X is None:
        return view
    future = future_index(last, steps, freq)
    if exog_mode == ORACLE:
        view.X_hist = X.loc[:last]
        realised = X.reindex(future)
        if realised.isna().any().any():
            column = realised.columns[realised.isna().any()][0]
            raise ModelNotApplicable(f"oracle: realised '{column}' missing after the cutoff")
        view.X_future = realised.astype(float)
        return view

    hist_cols, future_cols = {}, {}
    for column in X.columns:
        spec = options.driver(column)
        hist, path, forecast = _driver_view(X[column], spec, y_hist.index, future, as_of, exog_mode, freqstr)
        if exog_mode == "scenario":
            # The shift applies to the forecast part only; values known at the origin stay as known.
            path = path + forecast * dict(options.scenario).get(column, 0.0)
        hist_cols[column], future_cols[column] = hist, path
    view.X_hist = pd.DataFrame(hist_cols, index=y_hist.index)
    view.X_future = pd.DataFrame(future_cols, index=future)
    return view


def _driver_view(
    realised: pd.Series,
    spec: DriverSpec,
    hist_index: pd.DatetimeIndex,
    future: pd.DatetimeIndex,
    as_of: pd.Timestamp,
    mode: str,
    freq: str,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(training values, future path, 1.0 where the path is a forecast rather than a known value)
    of one driver, from what was known on ``as_of``."""
    column = str(realised.name)
    if spec.realtime is not None:
        hist = spec.realtime(as_of, hist_index).astype(float)
        # The builder cannot say which of its later values were already known: none is taken as known.
        known_future = pd.Series(np.nan, index=future)
        own_path = spec.realtime(as_of, future).astype(float)
    else:
        index = pd.DatetimeIndex(realised.index)
        known_mask = period_end(index, freq) + pd.Timedelta(days=int(spec.known_lag_days)) <= as_of
        known = realised[known_mask].astype(float)
        hist = known.reindex(hist_index)
        known_future = known.reindex(future)
        own_path = None
    late = hist.isna() & realised.reindex(hist_index).notna()
    if late.any():
        raise ModelNotApplicable(
            f"driver '{column}' for {late.index[late][0]:%Y-%m-%d} was not yet known at the origin {as_of:%Y-%m-%d}"
        )
    history = pd.concat([hist, known_future.dropna()]).dropna()
    if history.empty:
        raise ModelNotApplicable(f"driver '{column}' has no value known at the origin {as_of:%Y-%m-%d}")
    if mode == "last_value":
        rest = carry_forward(history.to_frame(), future)[column]
    elif own_path is not None:
        rest = own_path
    else:
        rest = _driver_forecast(history, future, spec.model)
    path = known_future.where(known_future.notna(), rest)
    if path.isna().any():
        raise ModelNotApplicable(f"driver '{column}' has no forecast at the origin {as_of:%Y-%m-%d}")
    return hist, path.astype(float), known_future.isna().astype(float)


def _driver_forecast(history: pd.Series, future: pd.DatetimeIndex, model: str) -> pd.Series:
    """Driver path for ``future`` from its known ``history`` (non-missing, oldest first)."""
    last = float(history.iloc[-1])
    if model == "random_walk" or len(history) < 2:
        return pd.Series(last, index=future)
    grid = pd.date_range(history.index[0], future[-1], freq=future.freq or pd.infer_freq(future))
    position = pd.Series(np.arange(len(grid)), index=grid)
    span = position[history.index[-1]] - position[history.index[0]]
    slope = (last - float(history.iloc[0])) / span if span else 0.0
    steps = position.reindex(future).to_numpy() - position[history.index[-1]]
    return pd.Series(last + slope * steps, index=future)


def view_for_settings(y, X, cutoff, settings, mode: str | None = None) -> OriginView:
    """:func:`origin_view` with the fields of a :class:`~forecast.backtest.engine.BacktestSettings`."""
    return origin_view(
        y,
        X,
        cutoff,
        settings.horizon,
        publication_lag_days=getattr(settings, "publication_lag_days", 0),
        exog_mode=mode or settings.exog_mode,
        options=getattr(settings, "exog_options", None),
    )


def compared_modes(settings, position: int, n_cutoffs: int) -> tuple[str, ...]:
    """The extra exogenous modes scored at the origin at ``position`` among ``n_cutoffs`` cutoffs
    (oldest = 0): every ``compare_every``-th origin, counted from the newest."""
    options = getattr(settings, "exog_options", None)
    if options is None or not options.compare_modes:
        return ()
    if (int(n_cutoffs) - 1 - int(position)) % int(options.compare_every):
        return ()
    return tuple(mode for mode in options.compare_modes if mode != settings.exog_mode)


def compared_views(
    fitted,
    model,
    y,
    X,
    cutoff,
    settings,
    primary: OriginView | None,
    fold_frame,
    position: int = 0,
    n_cutoffs: int = 1,
    view_of: Callable[[pd.Timestamp, str], OriginView] | None = None,
) -> list:
    """Forecasts of the extra modes in ``settings.exog_options.compare_modes`` at one origin:
    a list of ``(mode, frame)``.

    The primary fit is reused when a mode sees the same training data (true for FX, whose history
    is known at every origin); otherwise (or when the primary mode had no forecast at this origin,
    ``primary`` None) a clone is fitted on that mode's data. A mode whose data do not allow a
    forecast is left out at that origin. ``fold_frame(pred, view)`` shapes the rows; the caller
    labels them ``name[mode]``. ``position`` is the origin's index among the series' ``n_cutoffs``
    cutoffs (oldest = 0); only every ``compare_every``-th, counted from the newest, is compared.
    ``view_of(cutoff, mode)``, when given, supplies the views (built once and shared by models).
    """
    from sklearn.base import clone

    if X is None:
        return []
    out = []
    for mode in compared_modes(settings, position, n_cutoffs):
        try:
            view = view_of(cutoff, mode) if view_of is not None else view_for_settings(y, X, cutoff, settings, mode)
            assert view.X_hist is not None  # X is given, so every view carries its history
            same = (
                primary is not None
                and fitted is not None
                and view.y_hist.equals(primary.y_hist)
                and view.X_hist.equals(primary.X_hist)
            )
            estimator = fitted if same else clone(model).fit(view.y_hist, view.X_hist)
            pred = estimator.predict(view.steps, view.X_future).iloc[-settings.horizon :]
        except ModelNotApplicable:
            continue
        out.append((mode, fold_frame(pred, view)))
    return out
