"""Prophet's MAP fit and forecast without its pandas pipeline: the same Stan problem, the same arithmetic.

``Prophet.fit`` + ``predict`` spend most of a backtest fold in pandas (``setup_dataframe``, seasonal
features and component crosstabs built three times), in cmdstanpy's pure-Python JSON encoder and in
its output read loop, which spins while the Stan process runs. For the configuration
:class:`~forecast.models.prophet_model.ProphetForecaster` uses (linear growth, additive yearly
seasonality, additive regressors standardised as ``standardize="auto"`` does, no holidays) this
module builds the same Stan data and init with numpy, runs the compiled model of Prophet's Stan
backend (``CmdStanPyBackend.model.exe_file``) with the command line ``CmdStanModel.optimize``
composes for ``CmdStanPyBackend.fit``, and forecasts with Prophet's own formulas: ``yhat = trend *
(1 + X @ beta_m) + X @ beta_a * y_scale`` and the vectorised predictive sampler, drawing from
numpy's global RNG in Prophet's order.

The Stan input text is the one cmdstanpy writes (float repr), so the MAP parameters are bit-for-bit
those of ``Prophet.fit``; mean and samples match ``predict`` / ``predictive_samples`` to rounding.
tests/test_prophet_fast.py checks all of it against Prophet's public API, so a prophet upgrade that
changes any step fails there. Each step names the ``Prophet`` method it reproduces.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from prophet import Prophet
from prophet.models import CmdStanPyBackend

# Prophet's defaults for what ProphetForecaster leaves at the default.
N_CHANGEPOINTS, CHANGEPOINT_RANGE = 25, 0.8
SEASONALITY_PRIOR_SCALE = REGRESSOR_PRIOR_SCALE = 10.0
YEARLY_PERIOD, YEARLY_DEFAULT_ORDER = 365.25, 10
_PARAMS = ("k", "m", "delta", "sigma_obs", "beta")


@dataclass
class ProphetFit:
    """What Prophet keeps of a MAP fit and reads at predict time (picklable: numpy and pandas only)."""

    start: pd.Timestamp
    t_scale: pd.Timedelta
    y_scale: float
    changepoints_t: np.ndarray
    fourier_order: int  # of the yearly seasonality; 0 = none
    regressors: list[tuple[str, float, float]]  # (name, mu, std), the standardisation of each column
    params: dict[str, np.ndarray]  # as ``Prophet.params``: each of shape (1, n)
    history_step: float  # mean spacing of the history in t (the trend step of a 1-period horizon)
    s_a: np.ndarray = field(repr=False)
    s_m: np.ndarray = field(repr=False)

    @classmethod
    def from_prophet(cls, model: Prophet) -> ProphetFit:
        """The state of a ``Prophet`` fitted in the configuration this module reproduces (forecasters
        pickled before this module existed kept the Prophet object itself)."""
        modes = {props["mode"] for props in [*model.seasonalities.values(), *model.extra_regressors.values()]}
        if (
            model.growth != "linear"
            or set(model.seasonalities) - {"yearly"}
            or modes - {"additive"}
            or model.holidays is not None
            or model.scaling != "absmax"
        ):
            raise ValueError("only linear growth with additive yearly seasonality and regressors is reproduced")
        components = model.train_component_cols
        # all set by Prophet.fit
        assert model.y_scale is not None and model.history is not None and components is not None
        return cls(
            start=model.start,
            t_scale=model.t_scale,
            y_scale=model.y_scale,
            changepoints_t=np.asarray(model.changepoints_t, dtype=float),
            fourier_order=model.seasonalities["yearly"]["fourier_order"] if model.seasonalities else 0,
            regressors=[(name, props["mu"], props["std"]) for name, props in model.extra_regressors.items()],
            params={p: model.params[p] for p in _PARAMS},
            history_step=float(np.diff(model.history["t"]).mean()),
            s_a=components["additive_terms"].to_numpy(),
            s_m=components["multiplicative_terms"].to_numpy(),
        )

    def stan_init(self) -> dict[str, float | np.ndarray]:
        """The MAP parameters in the form ``fit(init=...)`` takes (warm starts)."""
        init: dict[str, float | np.ndarray] = {p: float(self.params[p][0][0]) for p in ("k", "m", "sigma_obs")}
        init.update({p: self.params[p][0] for p in ("delta", "beta")})
        return init


def resolve_fourier_order(yearly_seasonality: bool | int | str, ds: pd.DatetimeIndex) -> int:
    """``Prophet.set_auto_seasonalities`` / ``parse_seasonality_args`` for the yearly term."""
    if isinstance(yearly_seasonality, str) and yearly_seasonality == "auto":
        return 0 if ds[-1] - ds[0] < pd.Timedelta(days=730) else YEARLY_DEFAULT_ORDER
    if yearly_seasonality is True:
        return YEARLY_DEFAULT_ORDER
    if yearly_seasonality is False:
        return 0
    return int(yearly_seasonality)


# ---- design ------------------------------------------------------------------------------------
# Fourier terms depend on the date alone and every fold of a backtest repeats most dates, so each
# date's row is kept with its JSON text (float repr, the costliest part of writing the Stan input).
_FOURIER_ROWS: dict[tuple, tuple[np.ndarray, str]] = {}
_FOURIER_ROWS_LIMIT = 100_000
_FOURIER_LOCK = threading.Lock()


def _fourier(ds: pd.DatetimeIndex, order: int) -> tuple[np.ndarray, list[str]]:
    """Yearly Fourier columns of ``ds`` and the JSON text of each row."""
    unit = ds.unit
    keys = [(order, unit, v) for v in ds.asi8.tolist()]
    with _FOURIER_LOCK:  # executors may fit in threads (Dask)
        missing: Sequence[int] = [i for i, key in enumerate(keys) if key not in _FOURIER_ROWS]
        if missing:
            if len(_FOURIER_ROWS) + len(missing) > _FOURIER_ROWS_LIMIT:
                _FOURIER_ROWS.clear()
                missing = range(len(keys))
            # Prophet's own function on a Series of the same dates: identical floats, whatever the
            # unit (it works row by row, so a subset of dates gives the same rows).
            values = Prophet.fourier_series(pd.Series(ds[list(missing)]), YEARLY_PERIOD, order)
            for i, row in zip(missing, values):
                _FOURIER_ROWS[keys[i]] = (row, ",".join(map(repr, row.tolist())))
        rows = [_FOURIER_ROWS[key] for key in keys]
    return np.array([row for row, _ in rows]), [text for _, text in rows]


def _scaled_time(ds: pd.DatetimeIndex, fit_start: pd.Timestamp, t_scale: pd.Timedelta) -> np.ndarray:
    # ``setup_dataframe``: t = (ds - start) / t_scale, with pandas' datetime arithmetic.
    return np.asarray((ds - fit_start) / t_scale, dtype=float)


def _features(
    fit: ProphetFit, ds: pd.DatetimeIndex, X: np.ndarray | None, text: bool = False
) -> tuple[np.ndarray, list[str]]:
    """``make_all_seasonality_features`` (yearly Fourier columns, then the standardised regressors;
    a single zero column when there are neither) and, with ``text``, the JSON text of each row."""
    blocks: list[np.ndarray] = []
    texts: list[list[str]] = [[] for _ in range(len(ds))]
    if fit.fourier_order:
        values, fourier_texts = _fourier(ds, fit.fourier_order)
        blocks.append(values)
        for row, row_text in zip(texts, fourier_texts):
            row.append(row_text)
    if fit.regressors:
        mu = np.array([r[1] for r in fit.regressors])
        std = np.array([r[2] for r in fit.regressors])
        blocks.append((X - mu) / std)
    if not blocks:
        blocks.append(np.zeros((len(ds), 1)))
    if text and (fit.regressors or not fit.fourier_order):
        for row, values in zip(texts, blocks[-1].tolist()):
            row.append(",".join(map(repr, values)))
    features = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
    return features, [",".join(row) for row in texts]


# ---- fit -----------------------------------------------------------------------------------------
def fit_map(
    ds: pd.DatetimeIndex,
    y: np.ndarray,
    X: np.ndarray | None,
    regressor_names: list[str],
    yearly_seasonality: bool | int | str,
    changepoint_prior_scale: float,
    backend: CmdStanPyBackend,
    init: dict | None = None,
    algorithm: str | None = None,
    seed: int | None = None,
) -> ProphetFit:
    """``Prophet.fit(df, init=init, algorithm=algorithm, seed=seed)`` on the rows where ``y`` is not NaN.

    ``ds`` must be sorted; ``X`` holds the regressor columns (rows as ``ds``)."""
    keep = ~np.isnan(y)
    if not keep.all():
        ds, y = ds[keep], y[keep]
        X = X[keep] if X is not None else None
    if len(y) < 2:
        raise ValueError("Dataframe has less than 2 non-NaN rows.")
    # ``initialize_scales`` (absmax scaling, no floor).
    y_scale = float(np.abs(y).max()) or 1.0
    start, t_scale = ds[0], ds[-1] - ds[0]
    regressors = _regressor_scales(regressor_names, X)
    t = _scaled_time(ds, start, t_scale)
    y_scaled = (y - 0.0) / y_scale  # Prophet subtracts its zero floor
    fit = ProphetFit(
        start=start,
        t_scale=t_scale,
        y_scale=y_scale,
        changepoints_t=np.array([0.0]),
        fourier_order=resolve_fourier_order(yearly_seasonality, ds),
        regressors=regressors,
        params={},
        history_step=float(np.diff(t).mean()),
        s_a=np.zeros(0),
        s_m=np.zeros(0),
    )
    features, row_texts = _features(fit, ds, X, text=True)
    K = features.shape[1]
    has_terms = bool(fit.fourier_order or regressors)
    # ``regressor_column_matrix``: every term is additive; the zero placeholder belongs to neither.
    fit.s_a = np.full(K, 1 if has_terms else 0)
    fit.s_m = np.zeros(K, dtype=int)
    sigmas = [SEASONALITY_PRIOR_SCALE] * (2 * fit.fourier_order) + [REGRESSOR_PRIOR_SCALE] * len(regressors)
    changepoints = _changepoints(ds)
    fit.changepoints_t = np.sort(_scaled_time(changepoints, start, t_scale)) if len(changepoints) else np.array([0.0])

    data = _stan_data(fit, y_scaled, t, K, changepoint_prior_scale, sigmas if has_terms else [1.0])
    params = _map_params(backend, data, y, row_texts, init, algorithm, seed)
    if not len(changepoints):  # ``fit``: with no changepoints the dummy delta is folded into k
        params["k"] = params["k"] + params["delta"].reshape(-1)
        params["delta"] = np.zeros(params["delta"].shape).reshape((-1, 1))
    fit.params = {p: params[p] for p in _PARAMS}
    return fit


def _map_params(
    backend: CmdStanPyBackend,
    data: dict,
    y: np.ndarray,
    row_texts: list[str],
    init: dict | None,
    algorithm: str | None,
    seed: int | None,
) -> dict[str, np.ndarray]:
    """The MAP parameters from Prophet's initial values (``calculate_initial_params`` /
    ``linear_growth_init``: the line through the first and last points); a constant series keeps
    its initial values, without Stan, as ``Prophet.fit`` does."""
    y_scaled, t = np.asarray(data["y"]), np.asarray(data["t"])
    k = (y_scaled[-1] - y_scaled[0]) / (t[-1] - t[0])
    default_init = {
        "k": k,
        "m": y_scaled[0] - k * t[0],
        "delta": np.zeros(data["S"]),
        "beta": np.zeros(data["K"]),
        "sigma_obs": 1.0,
    }
    if y.min() == y.max():
        params = {**default_init, "sigma_obs": 1e-9}
        return {p: np.array(v).reshape((1, -1)) for p, v in params.items()}
    x_text = "[[" + "],[".join(row_texts) + "]]"
    if init is not None:
        default_init = backend.sanitize_custom_inits(default_init, init)
    return _optimize(backend, data, x_text, default_init, algorithm, seed)


def _regressor_scales(names: list[str], X: np.ndarray | None) -> list[tuple[str, float, float]]:
    """``standardize="auto"``: each regressor's (name, mean, sd); binary columns are kept as they are."""
    regressors = []
    for j, name in enumerate(names):
        assert X is not None  # regressor columns come with X
        column = pd.Series(X[:, j])
        mu, std = 0.0, 1.0
        values = column.unique()
        if len(values) >= 2 and set(values) != {1, 0}:
            mu, std = float(column.mean()), float(column.std())
        regressors.append((name, mu, std))
    return regressors


def _stan_data(fit: ProphetFit, y_scaled: np.ndarray, t: np.ndarray, K: int, tau: float, sigmas: list) -> dict:
    """Prophet's Stan data block (``X`` is spliced in as text by :func:`_optimize`)."""
    return {
        "T": len(y_scaled),
        "S": len(fit.changepoints_t),
        "K": K,
        "tau": float(tau),
        "trend_indicator": 0,
        "y": y_scaled.tolist(),
        "t": t.tolist(),
        "cap": np.zeros(len(y_scaled)).tolist(),
        "t_change": fit.changepoints_t.tolist(),
        "s_a": fit.s_a.tolist(),
        "s_m": fit.s_m.tolist(),
        "X": None,
        "sigmas": sigmas,
    }


def _changepoints(ds: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """``set_changepoints``: up to 25 evenly spaced history dates in the first 80%, the first excluded."""
    hist_size = int(np.floor(len(ds) * CHANGEPOINT_RANGE))
    n_changepoints = min(N_CHANGEPOINTS, hist_size - 1)
    if n_changepoints <= 0:
        return ds[:0]
    cp_indexes = np.linspace(0, hist_size - 1, n_changepoints + 1).round().astype(int)
    return ds[cp_indexes[1:]]


_WORK_DIR: str | None = None
_CALLS = itertools.count()


def _work_dir() -> str:
    """One folder per process for the Stan input and output files (removed at exit): creating and
    removing a folder per fit cost ~3 ms on this machine's disk."""
    global _WORK_DIR
    if _WORK_DIR is None or not os.path.isdir(_WORK_DIR):
        _WORK_DIR = tempfile.mkdtemp(prefix="prophet_fast_")
        atexit.register(_remove_work_dir, _WORK_DIR, os.getpid())
    return _WORK_DIR


def _remove_work_dir(path: str, owner: int) -> None:
    if os.getpid() == owner:  # a forked child inherits the exit hook, not the folder
        shutil.rmtree(path, ignore_errors=True)


def _optimize(
    backend: CmdStanPyBackend, data: dict, x_text: str, init: dict, algorithm: str | None, seed: int | None
) -> dict[str, np.ndarray]:
    """``CmdStanPyBackend.fit``: Prophet's compiled model optimised from ``init``, retried with Newton
    if L-BFGS fails; returns the parameters as ``Prophet.params``.

    The model is launched with the command line ``CmdStanModel.optimize`` composes, on input files
    written here: ``json.dumps`` and the cached rows produce the same text as cmdstanpy's encoder
    (float repr) at a fraction of its cost, and a plain ``subprocess.run`` waits for the process
    where cmdstanpy's read loop spins (~5 ms of CPU per fit, taken from the Stan process when both
    cores are busy)."""
    data_text = json.dumps(data).replace('"X": null', '"X": ' + x_text)
    init_text = json.dumps(
        {
            "k": float(init["k"]),
            "m": float(init["m"]),
            "delta": np.asarray(init["delta"]).tolist(),
            "beta": np.asarray(init["beta"]).tolist(),
            "sigma_obs": float(init["sigma_obs"]),
        }
    )
    algorithm = algorithm or ("Newton" if data["T"] < 100 else "LBFGS")
    stem = os.path.join(_work_dir(), f"{os.getpid()}-{threading.get_ident()}-{next(_CALLS)}")
    paths = {name: f"{stem}-{name}" for name in ("data.json", "init.json", "output.csv")}
    try:
        for name, text in (("data.json", data_text), ("init.json", init_text)):
            with open(paths[name], "w") as stream:
                stream.write(text)
        _run_stan(backend, _stan_command(backend, paths, seed), algorithm)
        with open(paths["output.csv"]) as stream:
            names, values = [line for line in stream if not line.startswith("#")][:2]
    finally:
        for path in paths.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    params = backend.stan_to_dict_numpy(names.strip().split(","), np.array(values.strip().split(","), dtype=float))
    return {p: v.reshape((1, -1)) for p, v in params.items()}


def _stan_command(backend: CmdStanPyBackend, paths: dict[str, str], seed: int | None) -> list[str]:
    """The command line ``CmdStanModel.optimize`` composes, without the algorithm."""
    exe_file = backend.model.exe_file
    assert exe_file is not None  # the backend loaded a compiled model
    command = [os.fspath(exe_file)]
    if seed is not None:
        command += ["random", f"seed={seed}"]
    return [
        *command,
        "data",
        f"file={paths['data.json']}",
        f"init={paths['init.json']}",
        "output",
        f"file={paths['output.csv']}",
        "method=optimize",
    ]


def _run_stan(backend: CmdStanPyBackend, command: list[str], algorithm: str) -> None:
    """Run the optimiser; retry with Newton when L-BFGS fails (as Prophet does); RuntimeError if both fail."""
    run = subprocess.run(
        [*command, f"algorithm={algorithm.lower()}", f"iter={int(1e4)}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if run.returncode and backend.newton_fallback and algorithm != "Newton":
        run = subprocess.run(
            [*command, "algorithm=newton", f"iter={int(1e4)}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    if run.returncode:
        raise RuntimeError(f"Error during optimization! Prophet's Stan model failed: {run.stdout.decode()[-2000:]}")


# ---- predict -------------------------------------------------------------------------------------
@dataclass
class Design:
    """The future rows as ``predict`` sees them: scaled time and feature matrix."""

    t: np.ndarray
    features: np.ndarray


def design(fit: ProphetFit, ds: pd.DatetimeIndex, X: np.ndarray | None) -> Design:
    return Design(_scaled_time(ds, fit.start, fit.t_scale), _features(fit, ds, X)[0])


def point_forecast(fit: ProphetFit, d: Design) -> np.ndarray:
    """``predict``'s yhat: ``predict_trend`` and ``predict_seasonal_components`` with MAP parameters."""
    p = fit.params
    trend = (
        Prophet.piecewise_linear(
            d.t, np.nanmean(p["delta"], axis=0), np.nanmean(p["k"]), np.nanmean(p["m"]), fit.changepoints_t
        )
        * fit.y_scale
        + 0.0
    )
    additive = np.nanmean(np.matmul(d.features, (p["beta"] * fit.s_a).transpose()) * fit.y_scale, axis=1)
    multiplicative = np.nanmean(np.matmul(d.features, (p["beta"] * fit.s_m).transpose()), axis=1)
    return trend * (1 + multiplicative) + additive


def predictive_samples(fit: ProphetFit, d: Design, n_samples: int) -> np.ndarray:
    """``predictive_samples(df)["yhat"]`` (vectorised sampler, one MAP iteration), shape (rows, n).

    The draws come from numpy's global RNG in Prophet's order: trend-change indicators, their sizes,
    then the observation noise."""
    p = fit.params
    beta, deltas, k, m = p["beta"][0], p["delta"][0], p["k"][0], p["m"][0]
    # ``sample_model_vectorized``
    xb_a = np.matmul(d.features, beta * fit.s_a) * fit.y_scale
    xb_m = np.matmul(d.features, beta * fit.s_m)
    # ``sample_predictive_trend_vectorized``
    expected = Prophet.piecewise_linear(d.t, deltas, k, m, fit.changepoints_t)
    uncertainty = _trend_uncertainty(fit, d.t, deltas, n_samples)
    trends = (np.tile(expected, (n_samples, 1)) + uncertainty) * fit.y_scale + np.zeros((n_samples, len(d.t)))
    noise = np.random.normal(0, p["sigma_obs"][0], trends.shape) * fit.y_scale
    return (trends * (1 + xb_m) + xb_a + noise).T


def _trend_uncertainty(fit: ProphetFit, t: np.ndarray, deltas: np.ndarray, n_samples: int) -> np.ndarray:
    """``_sample_uncertainty`` and ``_make_trend_shift_matrix`` for linear growth."""
    if t.max() <= 1:
        return np.zeros((n_samples, len(t)))
    future = t[t > 1]
    n_length = len(future)
    single_diff = np.diff(future).mean() if n_length > 1 else fit.history_step
    likelihood = len(fit.changepoints_t) * single_diff
    mean_delta = np.mean(np.abs(deltas)) + 1e-8
    bool_slope_change = np.random.uniform(size=(n_samples, n_length)) < likelihood
    shift_values = np.random.laplace(0, mean_delta, size=bool_slope_change.shape)
    mat = shift_values * bool_slope_change
    n_mat = np.hstack([np.zeros((len(mat), 1)), mat])[:, :-1]
    mat = (n_mat + mat) / 2
    uncertainties = mat.cumsum(axis=1).cumsum(axis=1) * single_diff
    if t.min() <= 1:
        uncertainties = np.concatenate([np.zeros((n_samples, int(np.sum(t <= 1)))), uncertainties], axis=1)
    return uncertainties
