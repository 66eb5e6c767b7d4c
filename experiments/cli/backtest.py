"""``deficit backtest``: any long-format panel through the same rolling-origin engine.

The panel is a CSV with ``unique_id, ds, y`` and optional exogenous columns (every other column).
Input errors (a file that is not a CSV, missing columns, unparseable dates or values, dates off the
frequency's grid, unknown model names) raise :class:`DataValidationError` / ``UnknownModelError``,
which the CLI prints as one line; nothing is written then. Series too short for a model are
skipped with a reason (``skipped.csv``), not crashed on.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from features.csv_export import write_csv_atomic
from features.errors import DataValidationError
from forecast.frequency import SEASON_LENGTH

# The frequencies the command accepts: SEASON_LENGTH's aliases (quarter/year starts in January).
# The defaults: the seasonal-naive baseline, cheap classics, the automatic local classes and two
# global (cross-series) models; with them the command also reports ``auto`` (see --auto).
DEFAULT_MODELS = "seasonal_naive,ets,theta,auto_ets,auto_theta,ces,pooled_ridge,pooled_mlp"
AUTOMATIC_ROWS = ("auto", "auto_mean")  # the names --auto adds
OUTPUT_COLUMNS = ["unique_id", "model", "cutoff", "ds", "y", "yhat", "lo_80", "hi_80", "lo_95", "hi_95"]


# The options, declared once as types (typer's Annotated style): direct calls of ``backtest`` then
# get the same defaults as the command line.
_Data = Annotated[Path, typer.Option("--data", help="Long-format CSV: unique_id, ds, y [, exogenous columns].")]
_Freq = Annotated[str, typer.Option("--freq", help="MS (monthly), QS (quarterly) or YS (annual) period starts.")]
_Horizon = Annotated[int, typer.Option("--horizon", "-h", min=1, help="Periods forecast from each origin.")]
_Output = Annotated[Path, typer.Option("--output", "-o", help="Folder for forecasts.csv, metrics.csv, skipped.csv.")]
_Origins = Annotated[
    int, typer.Option("--origins", min=1, help="Origins per series; 1 = the last H observations as one test window.")
]
_Step = Annotated[int, typer.Option("--step", min=1, help="Periods between origins.")]
_Models = Annotated[str, typer.Option("--models", help="Comma-separated model names.")]
_NJobs = Annotated[int, typer.Option("--n-jobs", min=1, help="Worker processes (Dask: LocalCluster workers).")]
_RefitEvery = Annotated[
    int, typer.Option("--refit-every", min=1, help="Re-estimate every K origins; update the state in between.")
]
_WarmStart = Annotated[
    bool, typer.Option("--warm-start", help="Start each refit from the previous origin's parameters.")
]
_OriginsPerTask = Annotated[int, typer.Option("--origins-per-task", min=1, help="Origins per parallel task.")]
_ShareFeatures = Annotated[
    bool,
    typer.Option(
        "--share-features",
        help="Build each origin's view of a series once for all models (same forecasts, less repeated work).",
    ),
]
_Scheduler = Annotated[
    str | None, typer.Option("--scheduler-address", help="Run on this Dask scheduler (tcp://host:port).")
]
_LocalCluster = Annotated[bool, typer.Option("--dask-local", help="Run on a Dask LocalCluster of --n-jobs workers.")]
_GlobalAlignment = Annotated[
    str,
    typer.Option(
        "--global-alignment",
        help="Global (cross-series) models: 'date' trains each origin on every series' values up to that date; "
        "'position' groups each series' k-th last origin (panels with arbitrary dates, e.g. M3).",
    ),
]
_Combine = Annotated[
    list[str] | None,
    typer.Option(
        "--combine",
        help="Add a combination declared up front: NAME=mean:a,b,c (or median); the point forecasts and "
        "bounds of the listed models, wherever all of them forecast. Repeatable.",
    ),
]
_Auto = Annotated[
    bool,
    typer.Option(
        "--auto/--no-auto",
        help="Add 'auto_mean' (mean of pooled_mlp, auto_ets, auto_theta, ces: those that ran) and 'auto': at each "
        "origin the single model or auto_mean with the lowest MASE on the errors known by then "
        "(auto_mean where none is known yet).",
    ),
]
_SelectK = Annotated[
    list[int] | None,
    typer.Option(
        "--select-k",
        min=1,
        help="Add model 'select_K': at each origin the median of the K models with the lowest MASE on "
        "the errors known by then (K=1: pick the best); the first origin, with none known, combines all. Repeatable.",
    ),
]


def backtest(
    data: _Data,
    freq: _Freq,
    horizon: _Horizon,
    output: _Output,
    origins: _Origins = 1,
    step: _Step = 1,
    models: _Models = DEFAULT_MODELS,
    n_jobs: _NJobs = 1,
    refit_every: _RefitEvery = 1,
    warm_start: _WarmStart = False,
    origins_per_task: _OriginsPerTask = 12,
    share_features: _ShareFeatures = False,
    scheduler_address: _Scheduler = None,
    local_cluster: _LocalCluster = False,
    global_alignment: _GlobalAlignment = "date",
    combine: _Combine = None,
    auto: _Auto = True,
    select_k: _SelectK = None,
) -> None:
    """Backtest models on your own panel; write forecasts, per-series metrics and skips to --output."""
    from rich.console import Console

    from experiments.cli.progress import progress_reporter
    from forecast.backtest import BacktestSettings, cross_validate
    from forecast.backtest.executors import make_executor
    from forecast.backtest.global_engine import GLOBAL_ALIGNMENTS
    from forecast.models.registry import make_model

    if freq not in SEASON_LENGTH:
        raise DataValidationError(f"--freq {freq!r} is not one of {', '.join(SEASON_LENGTH)}")
    if global_alignment not in GLOBAL_ALIGNMENTS:
        raise DataValidationError(
            f"--global-alignment {global_alignment!r} is not one of {', '.join(GLOBAL_ALIGNMENTS)}"
        )
    season_length = SEASON_LENGTH[freq]
    names = _model_names(models)
    combinations = [_parse_combination(spec, names) for spec in combine or []]
    built = {name: make_model(name, season_length) for name in names}  # unknown names fail here
    panel = read_panel(data, freq)
    settings = BacktestSettings(
        horizon=horizon,
        n_origins=origins,
        step=step,
        refit_every=refit_every,
        season_length=season_length,
        freq=freq,
        warm_start=warm_start,
        origins_per_task=origins_per_task,
        global_alignment=global_alignment,
        share_features=share_features,
    )
    executor = make_executor(n_jobs, scheduler_address, dask=local_cluster)
    with progress_reporter(Console(stderr=True)) as progress:
        result = cross_validate(
            panel, built, settings, executor=executor, progress=lambda done, total: progress(data.name, done, total)
        )
    result = _with_combinations(result, select_k, combinations, auto and len(names) > 1)
    _write_outputs(result, output)


def _with_combinations(result, select_k: list[int] | None, combinations: list, auto: bool):
    """The requested combinations added as rows of their own: selections, fixed combinations, auto."""
    from forecast.backtest import add_automatic_choice, add_fixed_combination, add_selected_ensemble

    for k in sorted(set(select_k or [])):
        result = add_selected_ensemble(result, k=k, method="median", metric="mase", name=f"select_{k}")
    for name, method, members in combinations:
        result = add_fixed_combination(result, members, method, name=name)
    if auto:
        result = add_automatic_choice(result, name=AUTOMATIC_ROWS[0])
    return result


def _write_outputs(result, output: Path) -> None:
    from rich.console import Console

    output.mkdir(parents=True, exist_ok=True)
    forecasts = result.forecasts.rename(columns={"mean": "yhat"})[OUTPUT_COLUMNS]
    # exports a spreadsheet may open: atomic, and no text cell (a panel's unique_id) starts a formula
    write_csv_atomic(output / "forecasts.csv", forecasts, date_format="%Y-%m-%d")
    table = result.metrics()
    write_csv_atomic(output / "metrics.csv", table)
    write_csv_atomic(output / "skipped.csv", result.skipped)
    _print_summary(Console(), table, result.skipped, output)


def _model_names(models: str) -> list[str]:
    names = [m.strip() for m in models.split(",") if m.strip()]
    if not names:
        raise DataValidationError("--models names no model")
    if len(set(names)) != len(names):
        raise DataValidationError(f"--models lists a model more than once: {models}")
    return names


def _parse_combination(spec: str, models: list[str]) -> tuple[str, str, list[str]]:
    """``NAME=METHOD:a,b,c`` -> (name, method, members), checked against the models that run."""
    from forecast.backtest.ensemble import COMBINE_METHODS

    name, sep, rest = spec.partition("=")
    method, colon, listed = rest.partition(":")
    members = [m.strip() for m in listed.split(",") if m.strip()]
    if not sep or not colon or not name.strip() or method not in COMBINE_METHODS or len(set(members)) < 2:
        raise DataValidationError(
            f"--combine {spec!r}: expected NAME=METHOD:a,b[,...] with METHOD one of {', '.join(COMBINE_METHODS)} "
            "and at least two distinct models"
        )
    missing = [m for m in members if m not in models]
    if missing:
        raise DataValidationError(f"--combine {spec!r}: {', '.join(missing)} not in --models")
    if name.strip() in models or name.strip() in AUTOMATIC_ROWS:
        raise DataValidationError(f"--combine {spec!r}: {name.strip()!r} is already a model name")
    return name.strip(), method, members


def read_panel(path: Path, freq: str) -> pd.DataFrame:
    """The panel at ``path``, checked: ``unique_id`` as text, ``ds`` ISO dates on ``freq``'s grid
    (one row per series and date), ``y`` and exogenous columns numeric (empty cells are gaps)."""
    if not path.is_file():
        raise DataValidationError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            # index_col=False: a row with more cells than the header is an error, not an index
            warnings.simplefilter("error", pd.errors.ParserWarning)
            panel = pd.read_csv(path, index_col=False)
    except pd.errors.ParserWarning:
        raise DataValidationError(f"{path}: not a readable CSV (a row has more cells than the header)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataValidationError(f"{path}: not a readable CSV ({first})") from None
    missing = [c for c in ("unique_id", "ds", "y") if c not in panel.columns]
    if missing:
        raise DataValidationError(f"{path}: missing column(s) {', '.join(missing)} (needs unique_id, ds, y)")
    if panel.empty:
        raise DataValidationError(f"{path}: no rows")
    panel = panel.reset_index(drop=True)
    panel["unique_id"] = panel["unique_id"].astype(str)
    try:
        # ISO 8601 only (2017-01-01, 2017-01): one rule for every row, no guessing day-first or
        # month-first per element
        panel["ds"] = pd.to_datetime(panel["ds"], format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        raise DataValidationError(f"{path}: column ds has values that are not ISO 8601 dates (YYYY-MM-DD)") from None
    _refuse_first(path, panel["ds"].isna(), lambda row: "ds is empty (every row needs its date)")
    _refuse_first(
        path,
        (panel["ds"].dt.year < 1800) | (panel["ds"].dt.year > 2200),
        lambda row: f"ds {_date(panel['ds'].iloc[row])} is outside 1800-2200",
    )
    for column in [c for c in panel.columns if c not in ("unique_id", "ds")]:
        values = pd.to_numeric(panel[column], errors="coerce")
        _refuse_first(
            path,
            values.isna() & panel[column].notna(),
            lambda row, column=column: f"column {column}: {panel[column].iloc[row]!r} is not a number",
        )
        panel[column] = values.astype(float)
    off_grid = panel["ds"] != panel["ds"].dt.to_period(freq.rstrip("S")).dt.start_time
    _refuse_first(path, off_grid, lambda row: f"ds {_date(panel['ds'].iloc[row])} is not a {freq} period start")
    _refuse_first(
        path,
        panel.duplicated(["unique_id", "ds"]),
        lambda row: f"series {panel['unique_id'].iloc[row]!r} repeats ds {_date(panel['ds'].iloc[row])}",
    )
    return panel


def _refuse_first(path: Path, bad: pd.Series, message) -> None:
    """A DataValidationError naming the file row (header = row 1) of the first ``bad`` row."""
    rows = np.flatnonzero(bad.to_numpy())
    if len(rows):
        raise DataValidationError(f"{path}: row {rows[0] + 2}: {message(int(rows[0]))}")


def _date(ts: pd.Timestamp) -> str:
    return f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}"


def _print_summary(console, table: pd.DataFrame, skipped: pd.DataFrame, output: Path) -> None:
    from rich.table import Table

    summary = table.groupby("model").agg(
        series=("unique_id", "nunique"), smape=("smape", "mean"), mase=("mase", "mean")
    )
    view = Table("model", "series", "mean sMAPE", "mean MASE", title="Backtest (means over series)")
    for model, row in summary.sort_values("smape").iterrows():
        view.add_row(str(model), str(int(row["series"])), f"{row['smape']:.2f}", f"{row['mase']:.3f}")
    console.print(view)
    if not skipped.empty:
        console.print(
            f"{len(skipped)} model/series pairs skipped or partly skipped (reasons: {output / 'skipped.csv'})"
        )
    console.print(f"wrote {output / 'forecasts.csv'} and {output / 'metrics.csv'}")
