"""Rolling-origin backtest of many models over a long-format panel, leakage-safe by construction.

At every cutoff the series and its exogenous columns are sliced first (rows with ``ds <= cutoff``,
or fewer with a publication lag) and the model receives only that slice; the exogenous path for
the periods after the cutoff is built from what was known at the origin (the last known value
carried forward, or each driver's own forecast; see :mod:`forecast.backtest.exog_modes`, where
the ``oracle`` upper bound is kept apart). The realised values of the forecast periods are joined
to the forecasts afterwards, in the parent process, for scoring only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.base import clone

from forecast import metrics
from forecast.backtest.executors import Executor, JoblibExecutor, one_blas_thread
from forecast.backtest.exog_modes import EXOG_MODES, ExogOptions, compared_views
from forecast.backtest.global_engine import GLOBAL_ALIGNMENTS, global_tasks, is_global, skip_records
from forecast.backtest.origins import model_cutoffs
from forecast.backtest.shared_views import SharedViews, TaskViews, view_lookup
from forecast.errors import ModelNotApplicable
from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster

# Ways to fill the exogenous columns after the cutoff (EXOG_MODES): "last_value", "forecast",
# "oracle" (realised future values, an upper bound) and "scenario"; see forecast.backtest.exog_modes.

FORECAST_COLUMNS: list[str] = ["unique_id", "model", "cutoff", "ds", "h", "y", *PREDICTION_COLUMNS, "train_scale"]
SKIPPED_COLUMNS: list[str] = ["unique_id", "model", "reason", "origins_skipped", "origins_total"]


def metric_columns() -> list[str]:
    """The columns of :func:`score_forecasts` after the group keys: the metrics table, then counts."""
    return [*metrics.metric_names(), "n_forecasts", "n_origins"]


@dataclass(frozen=True)
class BacktestSettings:
    """Fold layout and refit policy.

    ``min_train`` = fewest observations at or before a cutoff (``None``: each model's own
    ``min_train_length()``, so models may cover different numbers of origins). ``freq`` overrides
    the frequency inferred from each series' dates. ``exog_mode`` says what the model sees as the
    exogenous values after the cutoff (see :data:`EXOG_MODES`).

    Cheaper folds: ``refit_every`` k re-estimates at every k-th origin and between refits updates
    the fitted state with the new observations (``model.update``). ``warm_start`` starts each
    refit's optimiser from the previous origin's parameters (``model.warm_fit``) instead of cold.
    ``origins_per_task`` splits a (series, model) pair's origins into consecutive tasks of that
    many (rounded up to a multiple of ``refit_every``, so the refit/update schedule is unchanged)
    to spread few series over many workers; ``None`` keeps a pair in one task. Forecasts do not
    depend on it except under ``warm_start``, where each task's first fit is cold.
    ``share_features`` builds each origin's view of a series (target history, driver values and
    paths) once, in the parent, for all the models of that series, instead of once per model
    (see :mod:`forecast.backtest.shared_views`); forecasts are identical either way.
    """

    horizon: int = 12
    n_origins: int = 24
    step: int = 1
    refit_every: int = 1
    season_length: int = 12
    min_train: int | None = None
    freq: str | None = None
    exog_mode: str = "last_value"
    # Days after a period ends before its target value is published; 0 = every origin sees its
    # cutoff period. Drivers, scenario shifts and compared modes: ExogOptions (exog_modes.py).
    publication_lag_days: int = 0
    exog_options: ExogOptions | None = None
    warm_start: bool = False
    origins_per_task: int | None = 12
    # How global (cross-series) models line series up at an origin: "date" (only ds <= cutoff from
    # every series) or "position" (each series' k-th last origin together); see global_engine.py.
    global_alignment: str = "date"
    share_features: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any], **overrides: Any) -> BacktestSettings:
        """Settings from a mapping of options (a study's backtest config dumped, say): the keys
        that name a setting are taken, the others (a config's metric, its compared modes) left
        to their owners; ``overrides`` win. One path from every config to the engine."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in {**options, **overrides}.items() if k in names})

    def __post_init__(self) -> None:
        for name in ("horizon", "n_origins", "step", "refit_every", "season_length"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.origins_per_task is not None and int(self.origins_per_task) < 1:
            raise ValueError(f"origins_per_task must be >= 1, got {self.origins_per_task}")
        if self.min_train is not None and int(self.min_train) < 1:
            raise ValueError(f"min_train must be >= 1, got {self.min_train}")
        if self.exog_mode not in EXOG_MODES:
            raise ValueError(f"exog_mode {self.exog_mode!r} is not implemented; available: {', '.join(EXOG_MODES)}")
        if int(self.publication_lag_days) < 0:
            raise ValueError(f"publication_lag_days must be >= 0, got {self.publication_lag_days}")
        if self.global_alignment not in GLOBAL_ALIGNMENTS:
            raise ValueError(
                f"global_alignment {self.global_alignment!r} unknown; available: {', '.join(GLOBAL_ALIGNMENTS)}"
            )


@dataclass
class BacktestResult:
    """Out-of-sample forecasts of every (series, model, cutoff), plus the models that were skipped.

    ``forecasts`` has :data:`FORECAST_COLUMNS`: ``h`` runs 1..horizon, ``y`` is the realised value
    (NaN where the panel has none), ``train_scale`` is the MASE denominator of that fold's training
    window. ``combined`` names the models that are combinations of the others (ensembles).
    ``exog_views`` holds the forecasts of the compared exogenous modes (column ``exog_mode``: oracle ...),
    kept out of ``forecasts`` so that nothing ranks, combines or selects them.
    """

    forecasts: pd.DataFrame
    skipped: pd.DataFrame
    settings: BacktestSettings
    combined: tuple[str, ...] = ()
    exog_views: pd.DataFrame | None = None

    def metrics(self, by: Sequence[str] = ("unique_id", "model")) -> pd.DataFrame:
        """Accuracy per group; see :func:`score_forecasts`."""
        return score_forecasts(self.forecasts, by)

    def metrics_by_horizon(self) -> pd.DataFrame:
        """Accuracy per series, model and forecast step ``h``."""
        return score_forecasts(self.forecasts, ("unique_id", "model", "h"))


def score_forecasts(
    forecasts: pd.DataFrame,
    by: Sequence[str] = ("unique_id", "model"),
    mase_by_fold: bool = True,
) -> pd.DataFrame:
    """One row per group of ``by`` with :func:`metric_columns`, over points with a realised ``y``.

    Scaled metrics (MASE) are computed per fold (with that fold's training-window scale) and then
    averaged over folds, so every origin weighs the same whatever its scale; the other metrics pool
    all points of the group. ``mase_by_fold=False`` pools the scaled errors over points too: for folds seen only in
    part (the errors known at a later origin), where a fold with one known step would otherwise
    weigh as much as a whole one. ``coverage_80``/``coverage_95`` are shares (0-1); sMAPE is on the 0-200 scale.
    ``n_forecasts`` counts scored points, ``n_origins`` the distinct cutoffs among them.
    """
    by = list(by)
    scored = forecasts[forecasts["y"].notna()]
    rows = []
    for key, group in scored.groupby(by, sort=True):
        rows.append(
            {
                **dict(zip(by, key)),
                **{m.name: m.of(group, by_fold=mase_by_fold) for m in metrics.BACKTEST_METRICS},
                "n_forecasts": len(group),
                "n_origins": group["cutoff"].nunique(),
            }
        )
    return pd.DataFrame(rows, columns=by + metric_columns())


def cross_validate(
    panel: pd.DataFrame,
    models: Mapping[str, BaseForecaster],
    settings: BacktestSettings = BacktestSettings(),
    n_jobs: int = 1,
    exog_columns: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> BacktestResult:
    """Backtest every model on every series of ``panel`` (columns ``unique_id, ds, y`` + exogenous).

    ``exog_columns`` defaults to every other column. Each (series, model) pair runs its origins in
    order (so refit-every-k can update the same model), in one task or in consecutive chunks (see
    :class:`BacktestSettings`). Tasks run on ``executor`` (default: joblib with ``n_jobs``
    processes); ``progress``, when given, is called with ``(tasks_done, tasks_total)``. A model
    raising :class:`ModelNotApplicable` at an origin gets no forecast there and a row in
    ``skipped``; other exceptions propagate. Global models (``is_global``) are fitted once per
    origin on every series instead, lined up by ``settings.global_alignment`` (global_engine.py).
    """
    # Global (cross-series) models fit once per origin on every series: global_engine.py.
    global_models = {name: model for name, model in models.items() if is_global(model)}
    local_models = {name: model for name, model in models.items() if name not in global_models}
    for name, model in local_models.items():
        if not isinstance(model, BaseForecaster):
            raise TypeError(f"model {name!r} is not a BaseForecaster")
    exog_columns = _exog_columns(panel, exog_columns)
    series = _split_panel(panel, exog_columns, settings.freq)
    shared = SharedViews(series, settings) if settings.share_features else None
    tasks = [
        delayed(_run_task)(
            uid,
            name,
            model,
            y,
            X if model.uses_exog else None,
            settings,
            origins,
            shared.for_task(uid, model.uses_exog, model_cutoffs(model, y, settings), origins) if shared else None,
        )
        for uid, (y, X) in series.items()
        for name, model in local_models.items()
        for origins in _origin_chunks(model, y, settings)
    ]
    tasks += global_tasks(series, global_models, settings)
    outputs = (executor or JoblibExecutor(n_jobs)).run(tasks, progress)

    return _collect(outputs, panel, settings)


def _collect(outputs: list, panel: pd.DataFrame, settings: BacktestSettings) -> BacktestResult:
    """The tasks' (forecasts, skip) pairs as one result: realised values joined, compared
    exogenous modes set apart, skips merged per (series, model)."""
    frames = [frame for frame, _ in outputs if frame is not None]
    forecasts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FORECAST_COLUMNS)
    forecasts = _attach_realised(forecasts, panel)
    # Rows of a compared exogenous mode carry it in ``exog_mode``; the primary rows have none.
    is_view = forecasts["exog_mode"].notna() if "exog_mode" in forecasts else pd.Series(False, forecasts.index)
    views, forecasts = forecasts[is_view], forecasts[~is_view].drop(columns="exog_mode", errors="ignore")
    records = [record for _, skip in outputs for record in skip_records(skip)]
    skipped = pd.DataFrame(_merge_skips(records), columns=SKIPPED_COLUMNS)
    return BacktestResult(
        forecasts=forecasts.sort_values(["unique_id", "model", "cutoff", "h"], ignore_index=True),
        skipped=skipped.sort_values(["unique_id", "model"], ignore_index=True),
        settings=settings,
        exog_views=(
            views.sort_values(["unique_id", "model", "exog_mode", "cutoff", "h"], ignore_index=True)
            if len(views)
            else None
        ),
    )


# ---- panel preparation (parent process) --------------------------------------------------------


def _exog_columns(panel: pd.DataFrame, exog_columns: Sequence[str] | None) -> list[str]:
    missing = {"unique_id", "ds", "y"} - set(panel.columns)
    if missing:
        raise ValueError(f"panel lacks columns {sorted(missing)}")
    if exog_columns is None:
        return [c for c in panel.columns if c not in ("unique_id", "ds", "y")]
    unknown = [c for c in exog_columns if c not in panel.columns]
    if unknown:
        raise ValueError(f"exog_columns not in panel: {unknown}")
    return list(exog_columns)


def _split_panel(
    panel: pd.DataFrame, exog_columns: list[str], freq: str | None
) -> dict[Hashable, tuple[pd.Series, pd.DataFrame | None]]:
    """Per series: ``y`` on a regular grid from its first to its last observation (internal gaps
    kept as NaN) and its exogenous frame on the same grid (None when it has none)."""
    out = {}
    for uid, rows in panel.groupby("unique_id", sort=True):
        ds = pd.DatetimeIndex(pd.to_datetime(rows["ds"]))
        if ds.has_duplicates:
            raise ValueError(f"series {uid!r} has duplicate ds values")
        frame = rows.set_index(ds)[["y", *exog_columns]].sort_index().astype(float)
        grid = frame.asfreq(freq or _infer_freq(frame.index, uid))
        if len(frame.index.difference(grid.index)):
            raise ValueError(f"series {uid!r} has dates off the {grid.index.freqstr} grid")
        observed = grid.index[grid["y"].notna()]
        # A series with no observation stays, empty, so every model records why it was skipped.
        grid = grid.loc[observed[0] : observed[-1]] if len(observed) else grid.iloc[:0]
        # A column with no value for this series is not one of its drivers (panels mix series
        # with different regressors); dropping it is not inventing data.
        exog = [c for c in exog_columns if grid[c].notna().any()]
        out[uid] = (grid["y"].rename("y"), grid[exog] if exog else None)
    return out


def _infer_freq(index: pd.DatetimeIndex, uid: Hashable) -> str:
    # The option opts into pandas' future return type (an offset) and avoids its deprecation warning.
    with pd.option_context("future.infer_freq_returns_offset", True):
        offset = pd.infer_freq(index) if len(index) >= 3 else None
    if offset is None:
        raise ValueError(f"cannot infer the frequency of series {uid!r}; set BacktestSettings.freq")
    return offset.freqstr


def _attach_realised(forecasts: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """Join the realised ``y`` of every forecast period from the panel (scoring only)."""
    if forecasts.empty:
        return forecasts.reindex(columns=FORECAST_COLUMNS)
    realised = panel[["unique_id", "ds", "y"]].assign(ds=lambda d: pd.to_datetime(d["ds"]))
    out = forecasts.drop(columns="y").merge(realised, on=["unique_id", "ds"], how="left")
    return out[[*FORECAST_COLUMNS, *(["exog_mode"] if "exog_mode" in out else [])]]


# ---- one (series, model) task (may run in a worker process) ------------------------------------


def _run_task(
    uid: Hashable,
    name: str,
    model: BaseForecaster,
    y: pd.Series,
    X: pd.DataFrame | None,
    settings: BacktestSettings,
    origins: range,
    views: TaskViews | None = None,
) -> tuple[pd.DataFrame | None, dict | None]:
    """The origins at positions ``origins`` (oldest first) of one model on one series:
    (forecasts, skip record). ``views``: the origins' views built by the parent (share_features)."""
    min_train = settings.min_train or model.min_train_length()
    cutoffs = model_cutoffs(model, y, settings)
    if not cutoffs:
        reason = (
            f"series too short for any origin: {int(y.notna().sum())} observations over {len(y)} periods; "
            f"a fold needs >= {min_train} observations up to the cutoff and {settings.horizon} periods after it"
        )
        return None, _skip_record(uid, name, reason, settings.n_origins, settings.n_origins)

    rows, reasons, view_frames = _FoldRows(), [], []
    fresh = _unfitted_copies(model)
    view_of = view_lookup(views, y, X, settings)
    fitted: BaseForecaster | None = None
    # Nested BLAS/OpenMP threads oversubscribe the cores and slow small fits many times over.
    with one_blas_thread():
        for i in origins:
            cutoff = cutoffs[i]
            try:
                # What this origin may see: published target, drivers known then (exog_modes.py).
                view = view_of(cutoff)
                y_hist, X_hist = view.y_hist, view.X_hist
                fitted = _model_at(i, fitted, fresh, settings, y_hist, X_hist)
                # With a publication lag the model also forecasts the unpublished periods up to the
                # cutoff; only the horizon after the cutoff is kept and scored.
                pred = fitted.predict(view.steps, view.X_future)
            except ModelNotApplicable as exc:
                fitted, view = None, None  # its state is unreliable; the next origin refits from scratch
                reasons.append(str(exc))
            else:
                assert view is not None  # the try body completed, so this origin's view is set
                rows.add(
                    pred.iloc[-settings.horizon :] if view.steps > settings.horizon else pred,
                    cutoff,
                    metrics.mase_scale(y_hist.to_numpy(), settings.season_length),
                )
            # Compared exogenous modes (e.g. oracle), reported apart: exog_modes.compared_views.
            view_frames += _compared_frames(name, fitted, model, y, X, cutoff, settings, view, i, cutoffs, view_of)

    forecasts = rows.frame(uid, name)
    if view_frames:
        views = pd.concat(view_frames, ignore_index=True).assign(unique_id=uid)
        forecasts = views if forecasts is None else pd.concat([forecasts, views], ignore_index=True)
    skip = _skip_record(uid, name, reasons[0], len(reasons), len(cutoffs)) if reasons else None
    return forecasts, skip


def _model_at(
    position: int, fitted: BaseForecaster | None, fresh, settings: BacktestSettings, y_hist, X_hist
) -> BaseForecaster:
    """The model of the origin at ``position``: a fresh fit at the first origin and at every
    ``refit_every``-th (from the previous fit's parameters under ``warm_start``), else the
    previous fit updated with the new observations."""
    if fitted is None:
        return fresh().fit(y_hist, X_hist)
    if position % settings.refit_every:
        return fitted.update(y_hist, X_hist)
    if settings.warm_start:
        return fitted.warm_fit(y_hist, X_hist)
    return fresh().fit(y_hist, X_hist)


def _compared_frames(name, fitted, model, y, X, cutoff, settings, view, position, cutoffs, view_of) -> list:
    """The forecasts of this origin under each compared exogenous mode, labelled by ``exog_mode``."""
    frames = compared_views(
        fitted,
        model,
        y,
        X,
        cutoff,
        settings,
        view,
        lambda p, v: _fold_frame(p, cutoff, metrics.mase_scale(v.y_hist, settings.season_length)),
        position=position,
        n_cutoffs=len(cutoffs),
        view_of=view_of,
    )
    return [frame.assign(model=name, exog_mode=mode) for mode, frame in frames]


def _origin_chunks(model: BaseForecaster, y: pd.Series, settings: BacktestSettings) -> list[range]:
    """Positions of the origins each task of this (series, model) pair runs; a pair without any
    origin still gets one (empty) task, which records why it was skipped."""
    n = len(model_cutoffs(model, y, settings))
    if settings.origins_per_task is None or n == 0:
        return [range(n)]
    k = settings.refit_every
    # Whole refit cycles per task: a task then starts at a refit origin, as the unsplit run would.
    size = -(-int(settings.origins_per_task) // k) * k
    return [range(start, min(start + size, n)) for start in range(0, n, size)]


def _merge_skips(records: list[dict]) -> list[dict]:
    """One skip record per (series, model) from those of its tasks: the first reason, the
    skipped origins summed."""
    merged: dict[tuple, dict] = {}
    for record in records:
        key = (record["unique_id"], record["model"])
        if key in merged:
            merged[key]["origins_skipped"] += record["origins_skipped"]
        else:
            merged[key] = dict(record)
    return list(merged.values())


def _unfitted_copies(model: BaseForecaster) -> Callable[[], BaseForecaster]:
    """Maker of unfitted copies of ``model`` (what ``sklearn.base.clone`` returns).

    clone re-reads the signature and deep-copies every parameter at each call (~0.1-0.15 ms per
    refit); parameters that are immutable values can go straight to the class instead.
    """
    params = model.get_params(deep=False)
    if all(_immutable(value) for value in params.values()):
        cls = type(model)
        return lambda: cls(**params)
    return lambda: clone(model)


def _immutable(value) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


class _FoldRows:
    """The forecasts of one task's folds, kept as arrays and made into one frame at the end (a
    frame per fold, plus their concatenation, cost ~0.5 ms per fold)."""

    def __init__(self) -> None:
        self.index: list[pd.DatetimeIndex] = []
        self.values: list[np.ndarray] = []
        self.cutoffs: list[pd.Timestamp] = []
        self.scales: list[float] = []

    def add(self, pred: pd.DataFrame, cutoff: pd.Timestamp, train_scale: float) -> None:
        self.index.append(pred.index)
        # Selecting columns builds a new frame (~0.3 ms); predict's frame has them in order already.
        same = list(pred.columns) == PREDICTION_COLUMNS
        self.values.append((pred if same else pred[PREDICTION_COLUMNS]).to_numpy(dtype=float))
        self.cutoffs.append(cutoff)
        self.scales.append(train_scale)

    def frame(self, uid: Hashable, name: str) -> pd.DataFrame | None:
        """The rows of :func:`_fold_frame`, for every fold, labelled with the series and model."""
        if not self.index:
            return None
        lengths = [len(index) for index in self.index]
        values = np.concatenate(self.values)
        columns = {
            "ds": self.index[0].append(self.index[1:]),
            "h": np.concatenate([np.arange(1, n + 1) for n in lengths]),
            **{c: values[:, j] for j, c in enumerate(PREDICTION_COLUMNS)},
            "cutoff": pd.DatetimeIndex(self.cutoffs).repeat(lengths),
            "y": np.nan,
            "train_scale": np.repeat(np.asarray(self.scales, dtype=float), lengths),
        }
        return pd.DataFrame(columns).assign(unique_id=uid, model=name)


def _fold_frame(pred: pd.DataFrame, cutoff: pd.Timestamp, train_scale: float) -> pd.DataFrame:
    # Built in one construction: this runs at every fold, where insert/assign cost ~0.5 ms.
    columns = {
        "ds": pred.index,
        "h": np.arange(1, len(pred) + 1),
        **{c: pred[c].to_numpy() for c in PREDICTION_COLUMNS},
    }
    return pd.DataFrame({**columns, "cutoff": cutoff, "y": np.nan, "train_scale": train_scale})


def _skip_record(uid: Hashable, name: str, reason: str, n_skipped: int, n_total: int) -> dict:
    return {"unique_id": uid, "model": name, "reason": reason, "origins_skipped": n_skipped, "origins_total": n_total}
