"""A stored vintage laid over the bundled snapshot: a :class:`Snapshot` the models can use.

Overlay rule (one vintage at a time, so a refresh is defined by one vintage id):

* BoP monthly figures: the unit of replacement is the **item-month**. If the vintage has any
  figure of an item for a month, every bundled figure of that item and month (receipts,
  payments, balance) is dropped and the vintage's are used. Receipts, payments and balance
  of one month therefore always come from one release, so the balance identity keeps holding.
  Items and months the vintage does not cover keep the bundled figures. Items outside the
  snapshot (e.g. MOF's transport) stay in the vintage but are not used.
* USD/JPY: a vintage's monthly average replaces the bundled figure of the same month. The BOJ
  rate (Tokyo 17:00) and the bundled FRED rate (New York noon) differ slightly; every row
  keeps its source_id, so any splice is visible.
* Services total (the related indicator, ``services_total``): the bundled file holds the BOJ
  series BPBP6JYNSN (services, net). A vintage from a BOJ source (API or bulk file), where our
  ``services_total.balance`` *is* that series (configs/boj_series.yaml, verified code), replaces the
  bundled figure of every month it covers; other months keep the bundled figure. MOF vintages,
  and the BOJ receipts/payments of the services total (codes not confirmed offline), leave it as
  bundled: the file names its series by BOJ code.
* Each replaced row carries the vintage's lineage id and as-of date; ``sources`` gains one row
  for the vintage, so the snapshot passes the same checks as the bundled one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features import schemas
from features.data_defaults import BUNDLED, NEWEST
from features.snapshot import Snapshot, load_snapshot
from features.sources.figures import FX_ITEM
from features.vintages import VintageInfo, VintageStore


@dataclass(frozen=True)
class DataSelection:
    snapshot: Snapshot
    vintage: VintageInfo | None  # None: the bundled snapshot alone

    @property
    def vintage_id(self) -> str:
        return self.vintage.id if self.vintage else BUNDLED


def _boj_monthly(bundled: pd.DataFrame, bop: pd.DataFrame, info: VintageInfo) -> pd.DataFrame:
    covered = set(zip(bop["item"], bop["period"]))
    keep = bundled[[(i, p) not in covered for i, p in zip(bundled["item"], bundled["period"])]]
    new = bop.assign(source_id=info.source_id, vintage=info.as_of_date)
    combined = pd.concat([keep.drop(columns="ds"), new[keep.columns.drop("ds")]], ignore_index=True)
    out = schemas.validate(combined, schemas.BOJ_MONTHLY, f"vintage {info.id} over the snapshot")
    flow_order = out["flow"].map({f: i for i, f in enumerate(schemas.FLOWS)})
    out = out.assign(_f=flow_order).sort_values(["item", "period", "_f"]).drop(columns="_f")
    out.insert(1, "ds", pd.to_datetime(out["period"], format="%Y-%m"))
    return out.reset_index(drop=True)


def _usdjpy(bundled: pd.DataFrame, fx: pd.DataFrame, info: VintageInfo) -> pd.DataFrame:
    keep = bundled[~bundled["period"].isin(set(fx["period"]))].drop(columns="ds")
    new = fx.assign(source_id=info.source_id, vintage=info.as_of_date)[keep.columns]
    combined = pd.concat([keep, new], ignore_index=True)
    out = schemas.validate(combined, schemas.USDJPY_MONTHLY, f"vintage {info.id} over the snapshot")
    out = out.sort_values("period")
    out.insert(1, "ds", pd.to_datetime(out["period"], format="%Y-%m"))
    return out.reset_index(drop=True)


SERVICES_TOTAL_CODE = "BPBP6JYNSN"  # services_total.balance in configs/boj_series.yaml (verified)
BOJ_SOURCES = ("boj_api", "boj_flat")  # vintage sources whose services_total.balance is that series


def _services_total(bundled: pd.DataFrame, balance: pd.DataFrame, info: VintageInfo) -> pd.DataFrame:
    keep = bundled[~bundled["period"].isin(set(balance["period"]))].drop(columns="ds")
    new = balance.assign(series_code=SERVICES_TOTAL_CODE, source_id=info.source_id, vintage=info.as_of_date)
    combined = pd.concat([keep, new[keep.columns]], ignore_index=True)
    out = schemas.validate(combined, schemas.SERVICES_TOTAL_MONTHLY, f"vintage {info.id} over the snapshot")
    flow_order = out["flow"].map({f: i for i, f in enumerate(schemas.FLOWS)})
    out = out.assign(_f=flow_order).sort_values(["series_code", "period", "_f"]).drop(columns="_f")
    out.insert(1, "ds", pd.to_datetime(out["period"], format="%Y-%m"))
    return out.reset_index(drop=True)


def _sources(bundled: pd.DataFrame, info: VintageInfo) -> pd.DataFrame:
    row = {
        "source_id": info.source_id,
        "status": "VERIFIED",
        "vintage": info.as_of_date,
        "vintage_basis": f"as-of time of local vintage {info.id} ({info.as_of})",
        "title": info.title,
        "location": info.origin,
        "note": f"local vintage {info.id}, content sha256 {info.sha256}",
    }
    return schemas.validate(pd.concat([bundled, pd.DataFrame([row])], ignore_index=True), schemas.SOURCES, "sources")


def overlay(bundled: Snapshot, info: VintageInfo, figures: pd.DataFrame) -> Snapshot:
    """``bundled`` with the figures of vintage ``info`` laid over it (rule in the module doc)."""
    bop = figures[figures["item"].isin(schemas.BOJ_ITEMS) & figures["flow"].isin(schemas.FLOWS)]
    fx = figures[figures["item"] == FX_ITEM]
    services = figures[(figures["item"] == "services_total") & (figures["flow"] == "balance")]
    services = services if info.source in BOJ_SOURCES else services.iloc[:0]
    return Snapshot(
        boj_monthly=_boj_monthly(bundled.boj_monthly, bop, info) if len(bop) else bundled.boj_monthly,
        digital_annual=bundled.digital_annual,
        usdjpy=_usdjpy(bundled.usdjpy, fx, info) if len(fx) else bundled.usdjpy,
        ai_adoption=bundled.ai_adoption,
        wdi_annual=bundled.wdi_annual,
        services_total=(
            _services_total(bundled.services_total, services, info) if len(services) else bundled.services_total
        ),
        sources=_sources(bundled.sources, info),
        vintage=max(bundled.vintage, info.as_of_date),
        sha256=hashlib.sha256(f"{bundled.sha256}+{info.sha256}".encode()).hexdigest(),
    )


def select_data(snapshot_dir: Path | None, data_dir: Path, vintage: str = NEWEST) -> DataSelection:
    """``bundled``, ``newest`` (the bundled snapshot when the store is empty) or a vintage id."""
    bundled = load_snapshot(snapshot_dir)
    if vintage == BUNDLED:
        return DataSelection(bundled, None)
    store = VintageStore(data_dir)
    if vintage == NEWEST and store.newest() is None:
        return DataSelection(bundled, None)
    info = store.get(vintage)
    return DataSelection(overlay(bundled, info, store.figures(info)), info)
