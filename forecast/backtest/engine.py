"""Rolling-origin backtest of many models over a long-format panel, leakage-safe by construction.

At every cutoff the series and its exogenous columns are sliced first (rows with ``ds <= cutoff``)
and the model receives only that slice; the exogenous path for the periods after the cutoff is
built from the slice as well (the last known value carried forward). The realised values of the
forecast periods are joined to the forecasts afterwards, in the parent process, for scoring only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from features.builders import carry_forward
from forecast import metrics
from forecast.backtest.origins import make_cutoffs
from forecast.errors import ModelNotApplicable
from forecast.models.base import PREDICTION_COLUMNS, BaseForecaster, future_index

# Ways to fill the exogenous columns after the cutoff. Only "last_value" exists; "oracle" (realised
# future values, an upper bound) and "scenario" (caller-supplied paths) plug into _future_exog.
EXOG_MODES: tuple[str, ...] = ("last_value",)

FORECAST_COLUMNS: list[str] = ["unique_id", "model", "cutoff", "ds", "h", "y", *PREDICTION_COLUMNS, "train_scale"]
SKIPPED_COLUMNS: list[str] = ["unique_id", "model", "reason", "origins_skipped", "origins_total"]
METRIC_COLUMNS: list[str] = [
    "mase", "smape", "rmse", "mae", "pinball", "coverage_80", "coverage_95", "n_forecasts", "n_origins",
]


@dataclass(frozen=True)
class BacktestSettings:
    """Fold layout and refit policy.

    ``min_train`` = fewest observations at or before a cutoff (``None``: each model's own
    ``min_train_length()``, so models may cover different numbers of origins). ``freq`` overrides
    the frequency inferred from each series' dates. ``exog_mode`` says what the model sees as the
    exogenous values after the cutoff (see :data:`EXOG_MODES`).
    """

    horizon: int = 12
    n_origins: int = 24
    step: int = 1
    refit_every: int = 1
    season_length: int = 12
    min_train: int | None = None
    freq: str | None = None
    exog_mode: str = "last_value"

    def __post_init__(self) -> None:
        for name in ("horizon", "n_origins", "step", "refit_every", "season_length"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.min_train is not None and int(self.min_train) < 1:
            raise ValueError(f"min_train must be >= 1, got {self.min_train}")
        if self.exog_mode not in EXOG_MODES:
            raise ValueError(f"exog_mode {self.exog_mode!r} is not implemented; available: {', '.join(EXOG_MODES)}")


@dataclass
class BacktestResult:
    """Out-of-sample forecasts of every (series, model, cutoff), plus the models that were skipped.

    ``forecasts`` has :data:`FORECAST_COLUMNS`: ``h`` runs 1..horizon, ``y`` is the realised value
    (NaN where the panel has none), ``train_scale`` is the MASE denominator of that fold's training
    window. ``combined`` names the models that are combinations of the others (ensembles).
    """

    forecasts: pd.DataFrame
    skipped: pd.DataFrame
    settings: BacktestSettings
    combined: tuple[str, ...] = ()

    def metrics(self, by: Sequence[str] = ("unique_id", "model")) -> pd.DataFrame:
        """Accuracy per group; see :func:`score_forecasts`."""
        return score_forecasts(self.forecasts, by)

    def metrics_by_horizon(self) -> pd.DataFrame:
        """Accuracy per series, model and forecast step ``h``."""
        return score_forecasts(self.forecasts, ("unique_id", "model", "h"))


def score_forecasts(forecasts: pd.DataFrame, by: Sequence[str] = ("unique_id", "model")) -> pd.DataFrame:
    """One row per group of ``by`` with :data:`METRIC_COLUMNS`, over points with a realised ``y``.

    MASE is computed per fold (with that fold's training-window scale) and then averaged over folds,
    so every origin weighs the same whatever its scale; the other metrics pool all points of the
    group. ``coverage_80``/``coverage_95`` are shares (0-1); sMAPE is on the 0-200 scale.
    ``n_forecasts`` counts scored points, ``n_origins`` the distinct cutoffs among them.
    """
    by = list(by)
    scored = forecasts[forecasts["y"].notna()]
    rows = []
    for key, group in scored.groupby(by, sort=True):
        # Per-fold MASE = fold MAE / fold scale; the scale is constant within a fold.
        scale = group["train_scale"].where(group["train_scale"] > 0)
        scaled_errors = (group["y"] - group["mean"]).abs() / scale
        fold_mase = scaled_errors.groupby(group["cutoff"]).mean()
        rows.append({
            **dict(zip(by, key)),
            "mase": float(fold_mase.mean()),
            "smape": metrics.smape(group["y"], group["mean"]),
            "rmse": metrics.rmse(group["y"], group["mean"]),
            "mae": metrics.mae(group["y"], group["mean"]),
            "pinball": metrics.mean_pinball(group["y"], group),
            "coverage_80": metrics.coverage(group["y"], group["lo_80"], group["hi_80"]),
            "coverage_95": metrics.coverage(group["y"], group["lo_95"], group["hi_95"]),
            "n_forecasts": len(group),
            "n_origins": group["cutoff"].nunique(),
        })
    return pd.DataFrame(rows, columns=by + METRIC_COLUMNS)


def cross_validate(
    panel: pd.DataFrame,
    models: Mapping[str, BaseForecaster],
    settings: BacktestSettings = BacktestSettings(),
    n_jobs: int = 1,
    exog_columns: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest every model on every series of ``panel`` (columns ``unique_id, ds, y`` + exogenous).

    ``exog_columns`` defaults to every other column. Each (series, model) pair is one joblib task
    that runs its origins in order (so refit-every-k can update the same model); ``progress``, when
    given, is called with ``(tasks_done, tasks_total)``. A model raising :class:`ModelNotApplicable`
    at an origin gets no forecast there and a row in ``skipped``; other exceptions propagate.
    """
    for name, model in models.items():
        if not isinstance(model, BaseForecaster):
            raise TypeError(f"model {name!r} is not a BaseForecaster")
    exog_columns = _exog_columns(panel, exog_columns)
    series = _split_panel(panel, exog_columns, settings.freq)
    tasks = [
        delayed(_run_task)(uid, name, model, y, X if model.uses_exog else None, settings)
        for uid, (y, X) in series.items()
        for name, model in models.items()
    ]
    outputs: list[tuple[pd.DataFrame | None, dict | None]] = []
    for done, output in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(tasks), start=1):
        outputs.append(output)
        if progress is not None:
            progress(done, len(tasks))

    frames = [frame for frame, _ in outputs if frame is not None]
    forecasts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FORECAST_COLUMNS)
    forecasts = _attach_realised(forecasts, panel)
    skipped = pd.DataFrame([skip for _, skip in outputs if skip is not None], columns=SKIPPED_COLUMNS)
    return BacktestResult(
        forecasts=forecasts.sort_values(["unique_id", "model", "cutoff", "h"], ignore_index=True),
        skipped=skipped.sort_values(["unique_id", "model"], ignore_index=True),
        settings=settings,
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
        grid = grid.loc[observed[0]:observed[-1]] if len(observed) else grid.iloc[:0]
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
    return out[FORECAST_COLUMNS]


# ---- one (series, model) task (may run in a worker process) ------------------------------------

def _run_task(
    uid: Hashable,
    name: str,
    model: BaseForecaster,
    y: pd.Series,
    X: pd.DataFrame | None,
    settings: BacktestSettings,
) -> tuple[pd.DataFrame | None, dict | None]:
    """All origins of one model on one series, oldest first: (forecasts, skip record)."""
    min_train = settings.min_train or model.min_train_length()
    cutoffs = make_cutoffs(y.index, settings.horizon, settings.n_origins, settings.step, min_train, y.notna())
    if not cutoffs:
        reason = (
            f"series too short for any origin: {int(y.notna().sum())} observations over {len(y)} periods; "
            f"a fold needs >= {min_train} observations up to the cutoff and {settings.horizon} periods after it"
        )
        return None, _skip_record(uid, name, reason, settings.n_origins, settings.n_origins)

    frames, reasons = [], []
    fitted: BaseForecaster | None = None
    # Nested BLAS/OpenMP threads oversubscribe the cores and slow small fits many times over.
    with threadpool_limits(1):
        for i, cutoff in enumerate(cutoffs):
            y_hist, X_hist = _history(y, X, cutoff)
            X_future = _future_exog(X_hist, future_index(cutoff, settings.horizon, y.index.freq), settings.exog_mode)
            try:
                if fitted is None or i % settings.refit_every == 0:
                    fitted = clone(model).fit(y_hist, X_hist)
                else:
                    fitted.update(y_hist, X_hist)
                pred = fitted.predict(settings.horizon, X_future)
            except ModelNotApplicable as exc:
                fitted = None  # its state is unreliable; the next origin refits from scratch
                reasons.append(str(exc))
                continue
            frames.append(_fold_frame(pred, cutoff, metrics.mase_scale(y_hist, settings.season_length)))

    forecasts = pd.concat(frames, ignore_index=True).assign(unique_id=uid, model=name) if frames else None
    skip = _skip_record(uid, name, reasons[0], len(reasons), len(cutoffs)) if reasons else None
    return forecasts, skip


def _history(y: pd.Series, X: pd.DataFrame | None, cutoff: pd.Timestamp) -> tuple[pd.Series, pd.DataFrame | None]:
    """Rows at or before the cutoff, copied so nothing the model holds shares memory with later rows."""
    y_hist = y.loc[:cutoff].copy()
    return y_hist, (X.loc[:cutoff].copy() if X is not None else None)


def _future_exog(X_hist: pd.DataFrame | None, index: pd.DatetimeIndex, exog_mode: str) -> pd.DataFrame | None:
    """Exogenous values after the cutoff, built from the history only (the seam for other modes)."""
    if X_hist is None:
        return None
    if exog_mode == "last_value":
        return carry_forward(X_hist, index)
    raise ValueError(f"exog_mode {exog_mode!r} is not implemented")


def _fold_frame(pred: pd.DataFrame, cutoff: pd.Timestamp, train_scale: float) -> pd.DataFrame:
    out = pred[PREDICTION_COLUMNS].reset_index(drop=True)
    out.insert(0, "ds", pred.index)
    out.insert(1, "h", np.arange(1, len(pred) + 1))
    return out.assign(cutoff=cutoff, y=np.nan, train_scale=train_scale)


def _skip_record(uid: Hashable, name: str, reason: str, n_skipped: int, n_total: int) -> dict:
    return {"unique_id": uid, "model": name, "reason": reason, "origins_skipped": n_skipped, "origins_total": n_total}
