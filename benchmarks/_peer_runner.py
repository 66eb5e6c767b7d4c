"""Peer side of benchmarks/peers.py; runs in the peers' venv (.venv-bench: sktime needs pandas < 3.1).

    .venv-bench/bin/python benchmarks/_peer_runner.py {sktime-ets|sktime-sarimax|prophet-cv} SERIES.csv FIRST_CUTOFF N_ORIGINS REPEATS

Reads ``ds,y``; runs the peer's backtest on the same cutoffs (h = 12, refit at every cutoff), after
one untimed warm-up fit; prints JSON: the shortest wall time of REPEATS and each cutoff's point
forecast.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings

import pandas as pd

HORIZON = 12


def sktime_evaluate(kind: str, y: pd.Series, first: int, n_origins: int) -> dict[str, list[float]]:
    from sktime.forecasting.ets import AutoETS
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.forecasting.sarimax import SARIMAX
    from sktime.split import ExpandingWindowSplitter

    if kind == "sktime-ets":
        forecaster = AutoETS(error="add", trend="add", damped_trend=True, seasonal="add", sp=12, auto=False)
    else:  # sktime's SARIMAX defaults to trend="c"; ours (statsmodels' default) has none
        forecaster = SARIMAX(order=(1, 1, 1), seasonal_order=(0, 1, 1, 12), trend="n")
    y = y.iloc[: first + n_origins + HORIZON]
    cv = ExpandingWindowSplitter(fh=list(range(1, HORIZON + 1)), initial_window=first + 1, step_length=1)
    result = evaluate(forecaster, cv, y, strategy="refit", return_data=True, error_score="raise")
    assert len(result) == n_origins, len(result)
    return {
        str(row["cutoff"].to_timestamp() if hasattr(row["cutoff"], "to_timestamp") else row["cutoff"])[:10]: [
            float(v) for v in row["y_pred"].to_numpy()
        ]
        for _, row in result.iterrows()
    }


def prophet_cv(y: pd.Series, first: int, n_origins: int) -> tuple[dict[str, list[float]], float]:
    logging.getLogger("cmdstanpy").disabled = True
    logging.getLogger("prophet").setLevel(logging.ERROR)
    from prophet import Prophet
    from prophet.diagnostics import cross_validation

    df = pd.DataFrame({"ds": y.index, "y": y.to_numpy()})
    # The same model as ours: yearly seasonality only, L-BFGS, 500 predictive samples.
    model = Prophet(
        yearly_seasonality=True,
        weekly_seasonality=False,
        daily_seasonality=False,
        changepoint_prior_scale=0.05,
        uncertainty_samples=500,
    )
    model.fit(df, algorithm="LBFGS", seed=0)  # cross_validation needs a fitted model (untimed)
    cutoffs = list(y.index[first : first + n_origins])
    # A horizon of 366 days after a month start covers exactly the next 12 month starts, but
    # cross_validation refuses a cutoff later than the last date minus the horizon; the last cutoff
    # (12 months before the end) runs with 365 days, which also covers its 12 months here.
    start = time.perf_counter()
    cv = pd.concat(
        [
            cross_validation(model, horizon="366 days", cutoffs=cutoffs[:-1], disable_tqdm=True),
            cross_validation(model, horizon="365 days", cutoffs=cutoffs[-1:], disable_tqdm=True),
        ]
    )
    elapsed = time.perf_counter() - start
    assert (cv.groupby("cutoff").size() == HORIZON).all()
    out = {f"{c:%Y-%m-%d}": [float(v) for v in rows.sort_values("ds")["yhat"]] for c, rows in cv.groupby("cutoff")}
    return out, elapsed


def main() -> None:
    kind, path, first, n_origins, repeats = (
        sys.argv[1],
        sys.argv[2],
        int(sys.argv[3]),
        int(sys.argv[4]),
        int(sys.argv[5]),
    )
    warnings.simplefilter("ignore")
    frame = pd.read_csv(path, parse_dates=["ds"])
    y = pd.Series(frame["y"].to_numpy(), index=pd.DatetimeIndex(frame["ds"], freq="MS"), name="y")
    times, forecasts = [], None
    if kind == "prophet-cv":
        prophet_cv(y.iloc[:100], 60, 12)  # warm-up
        for _ in range(repeats):
            forecasts, elapsed = prophet_cv(y, first, n_origins)
            times.append(elapsed)
    else:
        sktime_evaluate(kind, y, 60, 1)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            forecasts = sktime_evaluate(kind, y, first, n_origins)
            times.append(time.perf_counter() - start)
    json.dump({"seconds": min(times), "forecasts": forecasts}, sys.stdout)


if __name__ == "__main__":
    main()
