"""Backtest of global (cross-series) models: one fit per origin on the whole panel's histories.

A global model (``is_global``, :mod:`forecast.models.global_base`) learns from many series at once,
so what "nothing after the cutoff" means depends on how the panel's series line up:

* ``date`` (default): the model fitted for cutoff date ``c`` sees, from every series, only the
  observations with ``ds <= c`` (fewer with a publication lag: what was published by then). For
  calendar-aligned panels such as the digital-deficit series, where another series' later months
  are information nobody had at ``c``.
* ``position``: the k-th last origin of every series is grouped together, and each series
  contributes its own history up to its own k-th last cutoff. For competition panels whose dates
  are arbitrary (M3: every series starts in 1990-01 whatever its real start), where equal dates
  mean nothing but every series' test window is its last H observations.

Every (series, cutoff) pair that a local model with the same ``min_train_length`` would forecast
gets a forecast (same cutoffs), and the rows have the engine's ``FORECAST_COLUMNS`` with the
fold's ``train_scale``, so leaderboards and selected ensembles treat both kinds alike. Series the
model cannot forecast at an origin get skip records, as local models do.

A global model is fitted afresh at every origin group, one task per group (``refit_every``,
``warm_start`` and ``origins_per_task`` concern local models only), and sees the target alone:
exogenous columns differ from series to series, so a global model that reads them is refused.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.base import clone

from forecast import metrics
from forecast.backtest.executors import one_blas_thread
from forecast.backtest.exog_modes import view_for_settings
from forecast.backtest.origins import model_cutoffs
from forecast.errors import ModelNotApplicable
from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster

if TYPE_CHECKING:
    from forecast.models.global_base import GlobalForecaster

GLOBAL_ALIGNMENTS: tuple[str, ...] = ("date", "position")

Series = Mapping[Hashable, tuple[pd.Series, pd.DataFrame | None]]


def is_global(model) -> bool:
    return bool(getattr(model, "is_global", False))


def global_tasks(series: Series, models: Mapping[str, GlobalForecaster | BaseForecaster], settings) -> list:
    """Joblib tasks, one per (global model, origin group); each returns ``(forecasts, skips)`` with
    ``skips`` a list of skip records."""
    tasks = []
    for name, model in models.items():
        if model.uses_exog:
            raise ValueError(
                f"global model {name!r} reads exogenous regressors, which the global backtest does not support"
            )
        cutoffs = {uid: model_cutoffs(model, y, settings) for uid, (y, _) in series.items()}
        short = [uid for uid, c in cutoffs.items() if not c]
        if short:
            tasks.append(delayed(_too_short)(name, model, {uid: series[uid][0] for uid in short}, settings))
        for histories, targets in _groups(series, cutoffs, settings):
            tasks.append(delayed(_run_group)(name, model, histories, targets, settings))
    return tasks


def skip_records(skips) -> list[dict]:
    """A task's skip output as a list: one record (local tasks) or a list (global tasks)."""
    if skips is None:
        return []
    return skips if isinstance(skips, list) else [skips]


def _groups(series: Series, cutoffs: dict[Hashable, list[pd.Timestamp]], settings):
    """Per origin group: (training histories' cutoffs per series, the series forecast there)."""
    alignment = settings.global_alignment
    if alignment == "date":
        for c in sorted({c for cs in cutoffs.values() for c in cs}):
            # Every series observed by c teaches the model, forecast there or not.
            histories = {uid: (y, c) for uid, (y, _) in series.items() if len(y) and y.index[0] <= c}
            yield histories, [uid for uid, cs in cutoffs.items() if c in cs]
    elif alignment == "position":
        for k in range(int(settings.n_origins)):
            # The k-th last cutoff of each series: the position a local model's k-th last origin has.
            histories = {}
            for uid, (y, _) in series.items():
                position = len(y) - 1 - int(settings.horizon) - k * int(settings.step)
                if position >= 0:
                    histories[uid] = (y, y.index[position])
            targets = [uid for uid, cs in cutoffs.items() if uid in histories and histories[uid][1] in cs]
            if targets:
                yield histories, targets
    else:
        raise ValueError(f"global_alignment {alignment!r} unknown; available: {', '.join(GLOBAL_ALIGNMENTS)}")


def _run_group(
    name: str,
    model,
    histories: dict[Hashable, tuple[pd.Series, pd.Timestamp]],
    targets: list[Hashable],
    settings,
) -> tuple[pd.DataFrame | None, list[dict]]:
    """Fit one clone on every history (each cut at its own cutoff) and forecast the targets."""
    views, skips = {}, []
    for uid, (y, cutoff) in histories.items():
        try:
            # What this origin may see of the series: the periods published by then (exog_modes.py).
            views[uid] = view_for_settings(y, None, cutoff, settings)
        except ModelNotApplicable as exc:
            if uid in targets:
                skips.append(_skip(uid, name, str(exc), y, model, settings))
    steps = max((views[uid].steps for uid in targets if uid in views), default=0)
    if steps == 0:
        return None, skips
    with one_blas_thread():
        try:
            fitted = clone(model).fit({uid: view.y_hist for uid, view in views.items()}, steps)
            pred = fitted.predict(steps)
        except ModelNotApplicable as exc:
            return None, skips + [
                _skip(uid, name, str(exc), histories[uid][0], model, settings) for uid in targets if uid in views
            ]
    by_series = dict(tuple(pred.groupby("unique_id", sort=False)))
    frames = []
    for uid in targets:
        if uid not in views:
            continue
        if uid not in by_series:
            reason = fitted.not_applicable_.get(uid, f"{type(model).__name__} gave no forecast for this series")
            skips.append(_skip(uid, name, reason, histories[uid][0], model, settings))
            continue
        view, cutoff = views[uid], histories[uid][1]
        # With a publication lag the unpublished periods up to the cutoff are forecast too; only
        # the horizon after the cutoff is kept and scored, as for local models.
        rows = by_series[uid].iloc[: view.steps].iloc[-int(settings.horizon) :]
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "model": name,
                    "cutoff": cutoff,
                    "ds": rows["ds"].to_numpy(),
                    "h": np.arange(1, len(rows) + 1),
                    "y": np.nan,
                    **{c: rows[c].to_numpy() for c in PREDICTION_COLUMNS},
                    "train_scale": metrics.mase_scale(view.y_hist, settings.season_length),
                }
            )
        )
    return (pd.concat(frames, ignore_index=True) if frames else None), skips


def _too_short(name: str, model, short: dict[Hashable, pd.Series], settings) -> tuple[None, list[dict]]:
    min_train = settings.min_train or model.min_train_length()
    return None, [
        {
            "unique_id": uid,
            "model": name,
            "origins_skipped": settings.n_origins,
            "origins_total": settings.n_origins,
            "reason": f"series too short for any origin: {int(y.notna().sum())} observations over {len(y)} periods; "
            f"a fold needs >= {min_train} observations up to the cutoff and {settings.horizon} periods after it",
        }
        for uid, y in short.items()
    ]


def _skip(uid: Hashable, name: str, reason: str, y: pd.Series, model, settings) -> dict:
    # One origin of this series skipped; the engine sums a series' records over origin groups.
    return {
        "unique_id": uid,
        "model": name,
        "reason": reason,
        "origins_skipped": 1,
        "origins_total": len(model_cutoffs(model, y, settings)),
    }
