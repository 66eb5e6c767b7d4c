"""BP01 and FM08 getDataCode answers whose history runs to 2026-07, for the live-path test.

*** SYNTHETIC TEST DATA: never copy these figures anywhere outside tests. ***

What the stand-in server answers (layouts of SOURCES.md section 4a), per catalogue series:

* ``services_total.balance`` (``BPBP6JYNSN``): the **real** BOJ services total, 1996-01..2026-07,
  read from the bundled snapshot (``boj_services_total_monthly.csv``).
* Every other BP01 series (copyright royalties, telecom/computer/information and its three parts,
  professional/management consulting, IP charges; receipts, payments, balance) and the
  services total's receipts and payments:

  - months the bundled snapshot has (to 2017-03): the bundled **real** figures, so the fetched
    vintage agrees with the bundled one there (the services total's receipts are real, its
    payments are synthetic: receipts - the real, revised balance);
  - 2017-04..2026-07: **SYNTHETIC** values from a seeded generator (each item's last bundled
    year, its monthly pattern repeated, a yearly growth rate and 4% noise), rounded to 1 億円,
    with balance = receipts - payments exactly; parent items are the sums of their parts
    (telecom/computer/information = telecom + computer + information, IP charges = copyright
    + a synthetic remainder).

  Series without a code in configs/boj_series.yaml get a made-up code ``SYNTH###`` (resolved
  through getMetadata by name, as at a first live fetch). The candidate codes BPBP6JYNSN906 and
  BPBP6JYNSN907 are kept (getMetadata confirms them), but their values are synthetic after
  2017-03 like the rest.
* ``usdjpy.average`` (FM08 ``FXERM07``): the bundled monthly means (FRED, standing in for the
  BOJ's Tokyo 17:00 rate) 1996-01..2026-04, then SYNTHETIC 2026-05..2026-07.

The generator is deterministic: the same answers on every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from boj_fixture_server import Reply, envelope, series_result

SNAPSHOT = Path(__file__).resolve().parents[1] / "features" / "data" / "snapshot"
FIRST, LAST = "1996-01", "2026-07"
LAST_BUNDLED = "2017-03"
SEED = 20260731
AS_OF = "2026-09-10T08:50:00.000+09:00"  # the answers' DATE: the fetched vintage's as-of time
SYNTHETIC_CODE = "SYNTH{:03d}"
# Yearly growth of the synthetic months (payments faster: the digital deficit keeps widening).
GROWTH = {"receipts": 0.05, "payments": 0.09}
LEAVES = ("copyright_royalties", "telecom", "computer", "information", "prof_mgmt_consulting")
PARTS = {"telecom_computer_information": ("telecom", "computer", "information")}


def _months(first: str, last: str = LAST) -> pd.PeriodIndex:
    return pd.period_range(first, last, freq="M")


def _synthetic(history: pd.Series, growth: float, rng: np.random.Generator) -> pd.Series:
    """2017-04..2026-07 after ``history`` (indexed by Period): the last bundled year's months,
    grown ``growth`` a year, times 1 + N(0, 4%), rounded to 1 億円 and never negative."""
    last_year = history.iloc[-12:]
    pattern = {p.month: v for p, v in last_year.items()}
    future = _months("2017-04")
    k = np.arange(1, len(future) + 1)
    base = np.array([pattern[p.month] for p in future], dtype=float)
    noise = 1.0 + 0.04 * rng.standard_normal(len(future))
    values = np.maximum(np.round(base * (1.0 + growth) ** (k / 12.0) * noise), 0.0)
    return pd.Series(values, index=future)


def history_figures() -> dict[str, pd.Series]:
    """Series id (``item.flow`` of configs/boj_series.yaml) -> monthly values (Period index)."""
    bundled = pd.read_csv(SNAPSHOT / "boj_services_monthly.csv", dtype={"period": str})
    bundled["period"] = pd.PeriodIndex(bundled["period"], freq="M")

    def real(item: str, flow: str) -> pd.Series:
        rows = bundled[(bundled["item"] == item) & (bundled["flow"] == flow)]
        return pd.Series(rows["value"].to_numpy(dtype=float), index=pd.PeriodIndex(rows["period"])).sort_index()

    rng = np.random.default_rng(SEED)
    out: dict[str, pd.Series] = {}
    new: dict[tuple[str, str], pd.Series] = {}  # synthetic months of the gross flows
    for item in LEAVES:
        for flow in ("receipts", "payments"):
            new[item, flow] = _synthetic(real(item, flow), GROWTH[flow], rng)
    for parent, parts in PARTS.items():
        for flow in ("receipts", "payments"):
            new[parent, flow] = sum(new[p, flow] for p in parts)
    for flow in ("receipts", "payments"):
        remainder = real("ip_charges", flow) - real("copyright_royalties", flow)
        new["ip_charges", flow] = new["copyright_royalties", flow] + _synthetic(remainder, GROWTH[flow], rng)
    for item in [*LEAVES, *PARTS, "ip_charges"]:
        for flow in ("receipts", "payments"):
            out[f"{item}.{flow}"] = pd.concat([real(item, flow), new[item, flow]])
        new_balance = new[item, "receipts"] - new[item, "payments"]  # exact, whole 億円
        out[f"{item}.balance"] = pd.concat([real(item, "balance"), new_balance])

    total = pd.read_csv(SNAPSHOT / "boj_services_total_monthly.csv", dtype={"period": str})
    total = total[(total["series_code"] == "BPBP6JYNSN") & (total["flow"] == "balance")]
    balance = pd.Series(total["value"].to_numpy(dtype=float), index=pd.PeriodIndex(total["period"], freq="M"))
    assert balance.index[0] == pd.Period(FIRST, "M") and balance.index[-1] == pd.Period(LAST, "M")
    receipts = pd.concat(
        [real("services_total", "receipts"), _synthetic(real("services_total", "receipts"), 0.04, rng)]
    )
    out["services_total.balance"] = balance  # real
    out["services_total.receipts"] = receipts
    out["services_total.payments"] = receipts - balance  # synthetic: receipts - the real balance
    for sid, series in out.items():
        assert series.index.equals(_months(str(series.index[0]))), sid  # no gap, through 2026-07
    return out


def usdjpy_figures() -> pd.Series:
    fx = pd.read_csv(SNAPSHOT / "usdjpy_monthly.csv", dtype={"period": str})
    fx = pd.Series(fx["value"].to_numpy(dtype=float), index=pd.PeriodIndex(fx["period"], freq="M"))
    fx = fx[fx.index >= pd.Period(FIRST, "M")]
    future = _months(str(fx.index[-1] + 1))
    steps = np.random.default_rng(SEED + 1).normal(0.0, 1.5, len(future))  # synthetic months
    return pd.concat([fx, pd.Series(np.round(fx.iloc[-1] + np.cumsum(steps), 4), index=future)])


def history_codes(catalogue) -> dict[str, str]:
    return {sid: e.code or SYNTHETIC_CODE.format(i) for i, (sid, e) in enumerate(catalogue.series.items())}


def _metadata(catalogue, codes: dict[str, str], figures: dict[str, pd.Series], db: str) -> bytes:
    rows = [{"SERIES_CODE": "", "NAME_OF_TIME_SERIES_J": "【国際収支統計】", "FREQUENCY": ""}]  # a heading row
    for sid, entry in catalogue.series.items():
        if entry.db != db:
            continue
        series = figures[sid]
        rows.append(
            {
                "SERIES_CODE": codes[sid],
                "NAME_OF_TIME_SERIES_J": entry.name_ja,
                "UNIT_J": "億円" if db == "BP01" else "円",
                "FREQUENCY": "MONTHLY",
                "CATEGORY_J": "",
                "LAYER1": "1",
                "LAYER2": None,
                "LAYER3": None,
                "LAYER4": None,
                "LAYER5": None,
                "START_OF_THE_TIME_SERIES": series.index[0].strftime("%Y%m"),
                "END_OF_THE_TIME_SERIES": series.index[-1].strftime("%Y%m"),
                "LAST_UPDATE": 20260910,
                "NOTES_J": "",
            }
        )
    return envelope(rows, db=db, date=AS_OF)


def _data(catalogue, codes: dict[str, str], figures: dict[str, pd.Series], db: str) -> bytes:
    results = []
    for sid, entry in catalogue.series.items():
        if entry.db != db:
            continue
        series = figures[sid]
        dates = [int(p.strftime("%Y%m")) for p in series.index]
        values = [float(v) for v in series.to_numpy()]
        result = series_result(codes[sid], entry.name_ja, "億円" if db == "BP01" else "円", values, dates)
        result["LAST_UPDATE"] = 20260910
        results.append(result)
    return envelope(results, db=db, date=AS_OF)


def history_answer(catalogue, since: str | None = None) -> Callable[[str, dict[str, str]], Reply]:
    """The stand-in server's script: getMetadata and getDataCode of BP01 and FM08; ``since``
    (YYYY-MM): only the months from then on, as a getDataCode with that startDate gives."""
    codes = history_codes(catalogue)
    figures = {**history_figures(), "usdjpy.average": usdjpy_figures()}
    if since is not None:
        figures = {sid: s[s.index >= pd.Period(since, "M")] for sid, s in figures.items()}
    meta = {db: _metadata(catalogue, codes, figures, db) for db in ("BP01", "FM08")}
    data = {db: _data(catalogue, codes, figures, db) for db in ("BP01", "FM08")}
    wanted = {db: [codes[s] for s, e in catalogue.series.items() if e.db == db] for db in data}

    def answer(endpoint: str, params: dict[str, str]) -> Reply:
        db = params.get("db", "")
        if endpoint == "getMetadata":
            return Reply(meta[db])
        if endpoint == "getDataCode" and params.get("code", "").split(",") == wanted[db]:
            return Reply(data[db])
        return Reply(
            json.dumps({"STATUS": 400, "MESSAGEID": "M181013E", "MESSAGE": "unexpected request"}).encode(), status=200
        )

    return answer
