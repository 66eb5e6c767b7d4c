"""Backtest overhead: our engine against a bare loop of the same statsmodels / prophet calls.

Same series (the 255-point monthly digital-proxy balance), same 36 origins, h = 12, cold refit at
every origin, one BLAS thread everywhere. Prints, per model, the shortest of ``--repeats`` runs
(the one least disturbed by other work on the shared machine) of: the bare loop, our backtest on 1
worker, and on 2 workers (joblib processes, origins split into tasks of 6; the worker pool is
started before timing). The bare loop makes the same library calls as our models; a second bare
loop with statsmodels' defaults shows what our models skip (parameter covariances the forecasts
never use). Targets: ours / bare <= 1.05 on 1 worker, 2 workers <= 0.6 x 1 worker.
For Prophet the bare loop is Prophet's public fit / predict / predictive_samples; our model builds
the same Stan problem and forecast in numpy (forecast/models/prophet_fast.py), so its ours / bare
is a saving below 1, not an overhead.

    .venv/bin/python benchmarks/overhead.py [--repeats 3] [--models ets,sarimax,prophet]
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import HORIZON, N_ORIGINS, cutoff_positions, machine, panel_of, real_series, timed  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


def bare_ets_defaults(y: pd.Series) -> None:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    for p in cutoff_positions(len(y)):
        yh = y.iloc[: p + 1]
        res = ETSModel(yh, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12).fit(
            disp=False
        )
        pred = res.get_prediction(start=len(yh), end=len(yh) + HORIZON - 1)
        for alpha in (0.2, 0.05):
            pred.summary_frame(alpha=alpha)


def bare_ets(y: pd.Series) -> None:
    """The calls ETSForecaster makes: no parameter covariance, closed-form forecast variance."""
    from scipy.stats import norm

    from forecast.models.ets import _ForecastETSModel

    for p in cutoff_positions(len(y)):
        yh = y.iloc[: p + 1]
        res = _ForecastETSModel(
            yh, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12
        ).fit(disp=False)
        mean = np.asarray(res.forecast(HORIZON))
        sd = np.sqrt(res.mse * res._relative_forecast_variance(np.arange(1, HORIZON + 1)))
        for level in (80, 95):
            z = norm.ppf(0.5 + level / 200)
            mean - z * sd, mean + z * sd


def bare_sarimax_defaults(y: pd.Series, **fit_kwargs) -> None:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    for p in cutoff_positions(len(y)):
        res = SARIMAX(y.iloc[: p + 1], order=(1, 1, 1), seasonal_order=(0, 1, 1, 12)).fit(disp=False, **fit_kwargs)
        forecast = res.get_forecast(HORIZON)
        forecast.predicted_mean.to_numpy()
        for alpha in (0.2, 0.05):
            forecast.conf_int(alpha=alpha)


def bare_prophet(y: pd.Series) -> None:
    logging.getLogger("cmdstanpy").disabled = True
    from prophet import Prophet

    for p in cutoff_positions(len(y)):
        yh = y.iloc[: p + 1]
        m = Prophet(
            yearly_seasonality=True,
            weekly_seasonality=False,
            daily_seasonality=False,
            changepoint_prior_scale=0.05,
            uncertainty_samples=500,
        )
        m.fit(pd.DataFrame({"ds": yh.index, "y": yh.to_numpy()}), algorithm="LBFGS", seed=0)
        future = pd.DataFrame({"ds": pd.date_range(yh.index[-1], periods=HORIZON + 1, freq="MS")[1:]})
        np.random.seed(0)
        m.uncertainty_samples = 0
        m.predict(future)
        m.uncertainty_samples = 500
        samples = m.predictive_samples(future)["yhat"]
        np.quantile(samples, [0.025, 0.1, 0.9, 0.975], axis=1)


def bare_sarimax(y: pd.Series) -> None:
    """The calls SARIMAXForecaster makes: no parameter covariance (cov_type="none")."""
    bare_sarimax_defaults(y, cov_type="none")


BARE = {"ets": bare_ets, "sarimax": bare_sarimax, "prophet": bare_prophet}
# statsmodels' defaults compute parameter covariances (and ETS's prediction object) that the
# forecasts never use; our models skip them, which is shown separately from the overhead.
BARE_DEFAULTS = {"ets": bare_ets_defaults, "sarimax": bare_sarimax_defaults, "prophet": bare_prophet}


def ours(y: pd.Series, name: str, executor, origins_per_task: int | None) -> None:
    from forecast.backtest import BacktestSettings, cross_validate
    from forecast.models.registry import make_model

    settings = BacktestSettings(horizon=HORIZON, n_origins=N_ORIGINS, origins_per_task=origins_per_task)
    result = cross_validate(panel_of(y), {name: make_model(name, 12)}, settings, executor=executor)
    assert result.forecasts["cutoff"].nunique() == N_ORIGINS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="ets,sarimax,prophet")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # optimiser warnings are identical on both sides
    from forecast.backtest.executors import JoblibExecutor

    y = real_series()
    one, two = JoblibExecutor(1), JoblibExecutor(2)
    ours(y.iloc[:120], "ets", two, 6)  # start the worker pool and import the models in it
    # Again after the imports: statsmodels modules add "always" filters for their warnings when
    # first imported, which would print the bare loop's EstimationWarnings.
    warnings.simplefilter("ignore")
    print(f"# overhead: {machine()}")
    print(f"# series {len(y)} points, {N_ORIGINS} origins, h={HORIZON}, cold refits, best of {args.repeats}")
    print(
        f"{'model':8} {'bare s':>8} {'ours 1w s':>10} {'ours/bare':>10} {'ours 2w s':>10} {'2w/1w':>7} "
        f"{'bare, sm defaults s':>20} {'ours/that':>10}"
    )
    for name in args.models.split(","):
        bare_t, one_t, two_t, default_t = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so drifts in machine speed hit all alike
            with threadpool_limits(1):
                bare_t.append(timed(lambda: BARE[name](y))[0])
                default_t.append(timed(lambda: BARE_DEFAULTS[name](y))[0] if name != "prophet" else np.nan)
            one_t.append(timed(lambda: ours(y, name, one, None))[0])
            two_t.append(timed(lambda: ours(y, name, two, 6))[0])
        b, o, t, d = (min(v) for v in (bare_t, one_t, two_t, default_t))
        print(f"{name:8} {b:8.2f} {o:10.2f} {o / b:10.3f} {t:10.2f} {t / o:7.3f} {d:20.2f} {o / d:10.3f}", flush=True)


if __name__ == "__main__":
    main()
