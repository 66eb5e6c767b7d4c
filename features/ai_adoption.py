"""AI-adoption index: a Bass diffusion curve through the survey points, with uncertainty.

The Bass curve ``F(t) = m (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})`` is zero at ``t = 0``
(the launch date: adoption before it is taken as zero) and rises to the ceiling ``m``. With two
survey points and a ceiling drawn from its prior, ``p`` and ``q`` are fitted exactly (least
squares); the Monte Carlo draws vary the ceiling, the survey shares (binomial sampling error)
and the survey dates. Every assumption is in ``configs/ai_adoption.yaml``.

Leakage: :func:`fit_adoption` takes an ``as_of`` date and refuses a survey point published after
it (:class:`~features.known.LeakageError`); :class:`AdoptionDriver` gives the index as it could
have been computed on a given date (only the points published by then).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.errors import ConfigError
from features.known import KnownSeries, period_end, require_known, with_dates
from features.snapshot import Snapshot
from features.yaml_settings import load_settings

DEFAULT_ADOPTION_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ai_adoption.yaml"
ADOPTION_COLUMN = "ai_adoption"  # the exogenous column the models see (percent of individuals)
_DAYS_PER_YEAR = 365.25


class AdoptionConfig(BaseModel):
    """Validated ``configs/ai_adoption.yaml`` (the assumptions A1-A7 are documented there)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    index_indicator: str = Field(min_length=1)
    launch_date: date
    survey_month_of_fiscal_year: int = Field(ge=1, le=12)
    survey_date_jitter_months: float = Field(ge=0, le=6)
    ceiling_low: float = Field(gt=0, le=100)
    ceiling_high: float = Field(gt=0, le=100)
    effective_respondents: int = Field(ge=10)
    quantiles: dict[str, float]
    draws: int = Field(ge=20, le=20000)
    seed: int = 0
    peers: list[str] = []

    @model_validator(mode="after")
    def _check(self) -> AdoptionConfig:
        if self.ceiling_low > self.ceiling_high:
            raise ValueError("ceiling_low exceeds ceiling_high")
        for name, q in self.quantiles.items():
            if not 0 < q < 1:
                raise ValueError(f"quantile '{name}' must lie strictly between 0 and 1")
        if "median" not in self.quantiles:
            raise ValueError("quantiles needs a 'median' entry (the baseline path)")
        return self


def load_adoption_config(path: Path | None = None) -> AdoptionConfig:
    """Read and validate the adoption config; any problem is one ConfigError line."""
    path = Path(path) if path is not None else DEFAULT_ADOPTION_CONFIG
    return load_settings(path, AdoptionConfig, "a mapping of settings")


# ---- survey points ------------------------------------------------------------------------------


def survey_points(snapshot: Snapshot, indicator: str, config: AdoptionConfig) -> pd.DataFrame:
    """Points of one indicator: ``period, value, survey_date, vintage`` (fiscal-year periods only).

    ``survey_date`` follows assumption A2; ``vintage`` is the snapshot's publication date, the
    date the point became known.
    """
    rows = snapshot.ai_adoption[snapshot.ai_adoption["indicator"] == indicator]
    if rows.empty:
        raise ConfigError(f"no survey points for indicator '{indicator}' in the snapshot")
    fiscal = rows[rows["period"].str.fullmatch(r"FY\d{4}")]
    if fiscal.empty:
        raise ConfigError(f"indicator '{indicator}' has no fiscal-year survey points")
    years = fiscal["period"].str[2:].astype(int)
    # FY y runs April y .. March y+1; month k of the fiscal year is calendar month (3 + k).
    start = pd.to_datetime(years.astype(str) + "-04-01")
    dates = [s + pd.DateOffset(months=config.survey_month_of_fiscal_year - 1, days=14) for s in start]
    out = pd.DataFrame(
        {
            "period": fiscal["period"].to_numpy(),
            "value": fiscal["value"].astype(float).to_numpy(),
            "survey_date": pd.DatetimeIndex(dates),
            "vintage": pd.to_datetime(fiscal["vintage"]).to_numpy(),
        }
    )
    return out.sort_values("survey_date", ignore_index=True)


def _bass(t: np.ndarray, m: float, p: float, q: float) -> np.ndarray:
    t = np.maximum(np.asarray(t, float), 0.0)
    e = np.exp(-(p + q) * t)
    return m * (1 - e) / (1 + (q / p) * e)


def _years_since(dates, launch: pd.Timestamp) -> np.ndarray:
    return (pd.DatetimeIndex(dates) - launch).days.to_numpy() / _DAYS_PER_YEAR


def _solve_pq(t: np.ndarray, y: np.ndarray, m: float) -> tuple[float, float] | None:
    """Least-squares p, q > 0 of a Bass curve with ceiling m through (t, y); None if it fails."""
    from scipy.optimize import least_squares

    def resid(theta: np.ndarray) -> np.ndarray:
        return _bass(t, m, *np.exp(theta)) - y

    # Early-phase points (imitation-led, convex) and late starters (innovation-led, concave) sit in
    # different corners of (p, q): several starts, the best fit kept. Two points must be met
    # (within 0.5 percentage points); with more, the least-squares curve is accepted.
    best = None
    for start in ((0.01, 0.8), (0.3, 0.3), (1.0, 0.05)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow on wild trial steps
            result = least_squares(resid, x0=np.log(start), method="lm")
        if result.success and np.all(np.isfinite(result.x)) and (best is None or result.cost < best.cost):
            best = result
            if len(y) <= 2 and np.max(np.abs(resid(best.x))) <= 0.5:
                break  # two points met exactly: the curve is determined
    if best is None or (len(y) <= 2 and np.max(np.abs(resid(best.x))) > 0.5):
        return None
    p, q = np.exp(best.x)
    return float(p), float(q)


@dataclass(frozen=True, eq=False)
class AdoptionFit:
    """Monte Carlo Bass fits of one indicator: parameter draws and the central fit."""

    indicator: str
    launch: pd.Timestamp
    params: np.ndarray  # draws x (m, p, q)
    central: tuple[float, float, float]  # fit at the prior-median ceiling and the reported shares
    points: pd.DataFrame  # the survey points used (period, value, survey_date, vintage)
    known_at: pd.Timestamp  # publication date of the newest point used
    quantiles: dict[str, float]

    def paths(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """Adoption (%) of every draw at ``dates``: draws x dates (zero before the launch)."""
        t = _years_since(dates, self.launch)
        return np.vstack([_bass(t, m, p, q) for m, p, q in self.params])

    def quantile_path(self, dates: pd.DatetimeIndex, q: float) -> pd.Series:
        return pd.Series(np.quantile(self.paths(dates), q, axis=0), index=dates)

    def central_path(self, dates: pd.DatetimeIndex) -> pd.Series:
        return pd.Series(_bass(_years_since(dates, self.launch), *self.central), index=dates)

    def scenario(self, name: str) -> float:
        if name not in self.quantiles:
            raise ConfigError(f"unknown adoption path '{name}'; known: {', '.join(self.quantiles)}")
        return self.quantiles[name]


def fit_adoption(
    points: pd.DataFrame,
    config: AdoptionConfig,
    as_of: pd.Timestamp | None = None,
    draws: int | None = None,
    indicator: str = "",
) -> AdoptionFit:
    """Fit the Bass curve with uncertainty to ``points`` (from :func:`survey_points`).

    With ``as_of`` every point must have been published by then, otherwise LeakageError: select
    first (``points[points.vintage <= as_of]``) to fit what was known on a date. ``draws=0`` fits
    only the central curve (its parameters stand in for the draws).
    """
    known = with_dates(
        pd.Series(points["value"].to_numpy(), index=pd.DatetimeIndex(points["survey_date"])),
        pd.Series(pd.DatetimeIndex(points["vintage"]), index=pd.DatetimeIndex(points["survey_date"])),
    )
    require_known(known, as_of, f"adoption survey '{indicator or config.index_indicator}'")
    if len(points) < 2:
        raise ConfigError(f"adoption curve needs >= 2 survey points, got {len(points)}")
    launch = pd.Timestamp(config.launch_date)
    t_obs = _years_since(points["survey_date"], launch)
    y_obs = points["value"].to_numpy(float)
    if (t_obs <= 0).any():
        raise ConfigError("a survey point lies before the launch date (assumption A1 sets adoption there to 0)")
    # A3: a ceiling below a share already observed is impossible, so the draw range starts above it.
    low = max(config.ceiling_low, float(y_obs.max()) + 1.0)
    high = max(config.ceiling_high, low)
    central_m = (low + high) / 2
    central = _solve_pq(t_obs, y_obs, central_m)
    if central is None:
        raise ConfigError(f"no Bass curve with ceiling {central_m:.1f} fits the survey points")

    n_draws = config.draws if draws is None else int(draws)
    rng = np.random.default_rng(config.seed)
    se = np.sqrt(y_obs / 100 * (1 - y_obs / 100) / config.effective_respondents) * 100  # A4
    jitter_years = config.survey_date_jitter_months / 12
    params = []
    for _ in range(n_draws):
        m = rng.uniform(low, high)
        y = np.clip(y_obs + rng.normal(0, se), 0.1, m - 0.1)
        t = np.maximum(t_obs + rng.uniform(-jitter_years, jitter_years, len(t_obs)), 1 / 12)
        pq = _solve_pq(np.sort(t), np.sort(y), m)
        if pq is not None:
            params.append((m, *pq))
    if n_draws == 0:
        params = [(central_m, *central)]
    elif len(params) < 10:
        raise ConfigError("too few Monte Carlo draws of the adoption curve converged")
    return AdoptionFit(
        indicator=indicator or config.index_indicator,
        launch=launch,
        params=np.array(params),
        central=(central_m, *central),
        points=points.reset_index(drop=True),
        known_at=pd.Timestamp(points["vintage"].max()),
        quantiles=dict(config.quantiles),
    )


# ---- index at BoP frequencies -------------------------------------------------------------------


def _mid_months(index: pd.DatetimeIndex, freq: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Mid-month dates of every month of every period, and the period each belongs to (A5)."""
    months_per = {"MS": 1, "QS": 3, "YS": 12}[str(freq).split("-")[0]]
    starts = [start + pd.DateOffset(months=k) for start in index for k in range(months_per)]
    mids = pd.DatetimeIndex(starts) + pd.Timedelta(days=14)
    owner = np.repeat(np.arange(len(index)), months_per)
    return mids, owner


def _period_means(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    sums = np.zeros(values.shape[:-1] + (n,))
    np.add.at(sums.T, owner, values.T)
    return sums / np.bincount(owner, minlength=n)


def adoption_index(fit: AdoptionFit, index: pd.DatetimeIndex, freq: str, path: str | float = "median") -> KnownSeries:
    """The index at ``freq`` on ``index`` (period starts), along a quantile path, with known dates.

    Periods that end before the launch are 0 (A1) and known at their end; later periods are known
    on ``fit.known_at`` (A7).
    """
    q = fit.scenario(path) if isinstance(path, str) else float(path)
    index = pd.DatetimeIndex(index)
    mids, owner = _mid_months(index, freq)
    monthly = np.quantile(fit.paths(mids), q, axis=0)
    values = pd.Series(_period_means(monthly, owner, len(index)), index=index, name=ADOPTION_COLUMN)
    return with_dates(values, _known_dates(index, freq, fit))


def central_index(fit: AdoptionFit, index: pd.DatetimeIndex, freq: str) -> KnownSeries:
    """The index of the central fit (prior-median ceiling, reported shares), with known dates."""
    index = pd.DatetimeIndex(index)
    mids, owner = _mid_months(index, freq)
    monthly = fit.central_path(mids).to_numpy()
    values = pd.Series(_period_means(monthly, owner, len(index)), index=index, name=ADOPTION_COLUMN)
    return with_dates(values, _known_dates(index, freq, fit))


def _known_dates(index: pd.DatetimeIndex, freq: str, fit: AdoptionFit) -> pd.Series:
    ends = period_end(index, freq)
    pre_launch = ends < fit.launch
    return pd.Series(np.where(pre_launch, ends, fit.known_at), index=index).astype("datetime64[ns]")


@dataclass(frozen=True, eq=False)
class AdoptionDriver:
    """The index as it could have been built on a date: only survey points published by then.

    Called as ``driver(as_of, index)`` it returns the central index on ``index`` (period starts at
    ``freq``). With fewer than two published points no curve could have been fitted: periods that
    ended before both the launch and ``as_of`` are 0 (A1: known), every other period is NaN (a
    forecaster before the surveys could not know when, or whether, adoption would start). Used by
    the backtest's ``forecast`` mode.
    """

    points: pd.DataFrame
    config: AdoptionConfig
    freq: str

    def __call__(self, as_of: pd.Timestamp, index: pd.DatetimeIndex) -> pd.Series:
        as_of = pd.Timestamp(as_of)
        index = pd.DatetimeIndex(index)
        known = self.points[pd.DatetimeIndex(self.points["vintage"]) <= as_of]
        ends = period_end(index, self.freq)
        launch = pd.Timestamp(self.config.launch_date)
        if len(known) < 2:
            known_zero = (ends < launch) & (ends < as_of)
            return pd.Series(np.where(known_zero, 0.0, np.nan), index=index, name=ADOPTION_COLUMN)
        try:
            fit = fit_adoption(known, self.config, as_of=as_of, draws=0)
        except ConfigError:  # no curve through what was published then: the driver is unknown
            return pd.Series(np.nan, index=index, name=ADOPTION_COLUMN)
        return central_index(fit, index, self.freq).values.rename(ADOPTION_COLUMN)
