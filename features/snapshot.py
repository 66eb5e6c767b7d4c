"""The project's own snapshot of the official figures: build it from the reference files, load it.

``build_snapshot`` reads the reference CSVs documented in ``shared/data/SOURCES.md`` and writes
them in this project's long schema (one row per figure, each with ``source_id`` and ``vintage``)
plus ``sources.csv`` (the source registry below) and ``MANIFEST.json``. Output is deterministic:
rebuilding from the same inputs gives byte-identical files. ``load_snapshot`` validates every file
(see :mod:`features.schemas`) and the manifest hashes, and returns a :class:`Snapshot`.

No figure is created here: rows are copied, filtered and relabelled, never filled or smoothed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from features import schemas
from features.errors import DataValidationError

DEFAULT_SNAPSHOT_DIR = Path(__file__).resolve().parent / "data" / "snapshot"
MANIFEST = "MANIFEST.json"
MANIFEST_SCHEMA_VERSION = 1
DATE_READ = "2026-11-29"  # SOURCES.md: "date read = 2026-11-29 for every source"

# Output file names of the snapshot.
BOJ_FILE = "boj_services_monthly.csv"
DIGITAL_FILE = "digital_balance_annual.csv"
USDJPY_FILE = "usdjpy_monthly.csv"
AI_FILE = "ai_adoption.csv"
WDI_FILE = "wdi_annual.csv"
SOURCES_FILE = "sources.csv"


@dataclass(frozen=True)
class Source:
    """One source id of SOURCES.md. ``vintage`` = when its figures were published (or read)."""

    status: str  # VERIFIED | DERIVED
    vintage: str
    vintage_basis: str  # why this date: stated, end of the stated month/year, date read, ...
    title: str
    location: str  # web address, or github:<owner/repo>/<path>@<commit> where the file was read
    note: str = ""


_STATED = "publication date stated in SOURCES.md"
_READ = f"publication date not stated in SOURCES.md; date read ({DATE_READ}) used"
_AM = "github:am-consulting/am-consulting.github.io"

# Source registry, transcribed from SOURCES.md (sections 1, 2, 3, 5). Where SOURCES.md gives only
# a month or a year, the last day of it is used so that a figure is never dated before it could
# have been known; where it gives no date at all, the date read is used (same reason).
SOURCE_REGISTRY: dict[str, Source] = {
    # --- BOJ monthly flat file and the annual sums derived from it (section 5a, section 1)
    "BOJ_BP_M_JP_2017": Source(
        "VERIFIED", "2017-05-26", "commit date of the copy read (data through 2017-03)",
        "BOJ 国際収支統計 bulk file bp_m_jp.zip (monthly, 億円, NSA) http://www.stat-search.boj.or.jp/info/bp_m_jp.zip",
        f"{_AM}/csv/csvData/TSdata/国際収支統計.csv@3a62dc31e0e60c1ca381b31331e5829c570dd782",
        "2014-2015 final, 2016 first annual revision, 2017-01..03 first preliminary",
    ),
    "DRV_BOJ_BP_M_ANNUAL": Source(
        "DERIVED", "2017-05-26", "vintage of its input BOJ_BP_M_JP_2017",
        "calendar-year sums of 12 BOJ_BP_M_JP_2017 monthly values",
        "shared/data/japan_services_boj_monthly.csv", "each month rounded to 1億円: a sum may differ by a few 億円",
    ),
    # --- MOF digital balance as reported (section 1)
    "BOP_JIJI_2024CY": Source(
        "VERIFIED", "2025-02-10", _STATED, "時事通信 2025-02-10「デジタル赤字、6.6兆円…」",
        "https://news.infoseek.co.jp/amp/article/250210jijiX607", "2024 preliminary",
    ),
    "BOP_JIJI_2023CY": Source(
        "VERIFIED", "2024-02-29", _STATED, "時事通信 2024-02-29「デジタル赤字、5.5兆円 DX進展で拡大基調―23年」",
        "https://sp.m.jiji.com/english/show/31538", "2023 preliminary",
    ),
    "DRV_2023_RECEIPTS": Source(
        "DERIVED", "2024-02-29", "vintage of its input BOP_JIJI_2023CY",
        "2023 receipts = payments + balance of BOP_JIJI_2023CY (92,463 - 55,360)", "https://sp.m.jiji.com/english/show/31538",
    ),
    "BOP_FUJI_2024": Source(
        "VERIFIED", "2024-12-31", "SOURCES.md states 'Dec 2024' only; last day of that month used",
        "夕刊フジ/ZAKZAK column (Dec 2024)", "https://news.infoseek.co.jp/amp/article/fuji_G4NY6VDSJNOVZKUAJJICDXGSIQ",
        "rounded to 0.01兆",
    ),
    "BOP_MRI_2024": Source(
        "VERIFIED", "2024-04-25", _STATED, "三菱総合研究所「デジタル赤字拡大は悪いことなのか？」2024-04-25",
        "https://www.mri.co.jp/knowledge/insight/20240425.html", "approx.",
    ),
    "BOP_DIAMOND_2023": Source(
        "VERIFIED", "2023-02-28", "SOURCES.md states '2023-02' only; last day of that month used",
        "野口悠紀雄, ダイヤモンド・オンライン 2023-02", "https://diamond.jp/articles/-/318133",
        "0.1兆 precision, 2022 first preliminary",
    ),
    "BOP_PRESIDENT_2024": Source(
        "VERIFIED", "2024-12-31", "SOURCES.md states '2024' only; last day of that year used",
        "PRESIDENT Online「近年激増している「デジタル赤字」とは」", "https://president.jp/articles/amp/85855?page=4",
    ),
    "BOP_FINASEE_KARAKAMA": Source(
        "VERIFIED", DATE_READ, _READ, "唐鎌大輔, Finasee「外資系コンサルブームも「新時代の赤字」に寄与」",
        "https://media.finasee.jp/articles/-/14300?page=2", "cites 2023 data",
    ),
    "DRV_2023_COPYRIGHT": Source(
        "DERIVED", DATE_READ, "latest vintage of its inputs (BOP_FINASEE_KARAKAMA, date read)",
        "2023 copyright balance = BOP_JIJI_2023CY total - BOP_PRESIDENT_2024 TCI - BOP_FINASEE_KARAKAMA consulting",
        "shared/data/SOURCES.md", "vintage mismatch between inputs: rough (error of a few thousand 億円 possible)",
    ),
    "BOP_JIJI_FY2024H1": Source(
        "VERIFIED", "2024-11-11", _STATED, "時事通信 2024-11-11「今年度上期の経常黒字、過去最大=15.8兆円」",
        "https://sp.m.jiji.com/article/show/3382302",
    ),
    "BOP_JIJI_FY2024": Source(
        "VERIFIED", "2025-05-12", _STATED, "時事通信 2025-05-12 (2024年度国際収支速報)",
        "http://forincs.com/headlines.php?src=2025051200216.xml",
    ),
    "BOP_JIJI_2025H1": Source(
        "VERIFIED", "2025-08-08", _STATED, "時事通信 2025-08-08「上半期の経常黒字14.5兆円」",
        "https://newsdas-web-stg.life-ranger.jp/Article/MyNews/NewsDetail/Genre/592446",
    ),
    "BOP_TOYOKEIZAI_2025": Source(
        "VERIFIED", "2026-02-28", "SOURCES.md states '2026-02' only; last day of that month used",
        "唐鎌大輔, 東洋経済オンライン 2026-02", "https://toyokeizai.net/articles/-/934947?page=2", "approx.",
    ),
    "BOP_SOUMU_R07": Source(
        "VERIFIED", "2025-07-08", _STATED, "総務省「令和7年版 情報通信白書」デジタル関連項目のサービス収支の動向",
        "https://www.soumu.go.jp/johotsusintokei/whitepaper/ja/r07/html/nd113220.html", "approx., revised data",
    ),
    "BOP_METI_2025": Source(
        "VERIFIED", "2025-04-30", "date of the METI report stated; the reporting article's date is not",
        "経済産業省「デジタル経済レポート」(2025-04-30) as reported by newton-consulting",
        "https://www.newton-consulting.co.jp/itilnavi/flash/id=8001", "approx., secondary report",
    ),
    "BOP_KYODO_2024": Source(
        "VERIFIED", "2025-02-11", _STATED, "共同通信 via 熊本日日新聞 2025-02-11「24年「デジタル赤字」6兆円超」",
        "https://kumanichi.com/articles/1685611", "core3 definition inferred",
    ),
    "BOP_ASAHI_FY2024": Source(
        "VERIFIED", "2025-05-12", _STATED, "朝日新聞 2025-05-12 (2024年度国際収支速報)",
        "https://japantoday.jp/?p=142345", "core3 definition inferred",
    ),
    "BOP_DIGITAL_AGENCY_2024": Source(
        "VERIFIED", "2024-06-21", "date of the quoted plan stated; the quoting page's date is not",
        "デジタル庁「デジタル社会の実現に向けた重点計画」(2024-06-21), quoted", "https://chugai-ad.co.jp/3217",
        "secondary quotation; core3 definition inferred",
    ),
    "BOP_MOF_SHOHOSEN_2024": Source(
        "VERIFIED", "2024-03-26", "date of the MOF meeting material stated",
        "財務省「国際収支から見た日本経済の課題と処方箋」第1回 (2024-03-26) material, quoted",
        "https://moneytimes.jp/archives/402474/3", "approx., secondary quotation",
    ),
    "DRV_COMMINFO": Source(
        "DERIVED", "2025-05-12", "latest vintage of its inputs (BOP_JIJI_FY2024 / BOP_ASAHI_FY2024)",
        "telecom + information = mof3 - core3 of same-release pairs", "shared/data/SOURCES.md",
        "depends on the inferred core3 definition",
    ),
    # --- USD/JPY (section 2)
    "FX_FRED_EXJPUS": Source(
        "VERIFIED", "2025-05-27", "commit date of the copy read",
        "FRED EXJPUS, Japanese Yen to U.S. Dollar, monthly average of H.10 noon buying rates",
        "github:mulemule02/investments_project/EXJPUS.csv@2e703aabc6d5efc0661d379f2438ebb60fe542d0",
    ),
    "FX_FRED_DEXJPUS_MONTHLY_MEAN": Source(
        "DERIVED", "2026-05-22", "last daily observation of the copy read",
        "monthly mean of FRED daily DEXJPUS (days with a value)",
        "github:sakudiff/FINARTS_FINAL-PAPER/data/raw/FRED_JPY_USD_ExchangeRate.csv@daa3f88437162fa70fcbd6e46b10a501e5d8ff6c",
        "reproduces EXJPUS within 0.00005 yen over 2018-01..2025-04",
    ),
    # --- AI adoption (section 3)
    "AI_SOUMU_R07_IND": Source(
        "VERIFIED", "2025-07-08", "publication date of 令和7年版 stated", "総務省 令和7年版 情報通信白書「AI利用の現状 (1) 個人」",
        "https://www.soumu.go.jp/johotsusintokei/whitepaper/ja/r07/text/nd112210.txt",
    ),
    "AI_LEDGE_2025": Source(
        "VERIFIED", "2025-07-10", _STATED, "ledge.ai 2025-07-10 (reports the 令和7年版 white paper)",
        "https://ledge.ai/categories/public", "secondary",
    ),
    "AI_SOUMU_R07_FIRM": Source(
        "VERIFIED", "2025-07-08", "publication date of 令和7年版 stated", "総務省 令和7年版「企業におけるAI利用の現状」",
        "https://www.soumu.go.jp/johotsusintokei/whitepaper/ja/r07/html/nd112220.html",
    ),
    "AI_SOUMU_R06_FIRM": Source(
        "VERIFIED", "2024-07-31", "SOURCES.md states 'July 2024' only; last day of that month used",
        "総務省 令和6年版 情報通信白書", "https://www.soumu.go.jp/johotsusintokei/whitepaper/ja/r06/html/nd151120.html",
    ),
    "AI_NIKKEI_2024": Source(
        "VERIFIED", "2024-07-05", _STATED, "日本経済新聞 2024-07-05「生成AIの個人利用、日本は9%どまり」",
        "nikkei.com article DGXZQOUA036VW0T00C24A7000000 (read via a mirror)", "secondary",
    ),
    "AI_INSOURCE_2025": Source(
        "VERIFIED", "2025-12-29", _STATED, "インソース 2025-12-29",
        "https://www.insource.co.jp/contents/hr-article-no82082.html", "secondary",
    ),
    "AI_WOMANSLABO_2025": Source(
        "VERIFIED", DATE_READ, _READ, "womanslabo news (FY2024 firm survey figures)",
        "https://womanslabo.com/news-women-250716-3", "secondary; the address suggests 2025-07-16 (not stated)",
    ),
    "AI_BND_2026": Source(
        "VERIFIED", DATE_READ, _READ, "blog.bnd.jp (quotes IPA DX動向2025, JUAS, Eurostat, UK figures)",
        "https://blog.bnd.jp/?p=15121", "secondary blog; primary reports not read",
    ),
    # --- World Bank WDI (section 5c)
    "WDI_CCIS_2026": Source(
        "VERIFIED", "2026-02-24", "WDI 'Last Updated Date' of the file read",
        "World Bank WDI BX.GSR.CCIS.CD ICT service exports (BoP, current US$), Japan",
        "github:AleHerreraSoria/green-ai-analytics-platform/data/World_Bank_Group/"
        "API_BX.GSR.CCIS.CD_DS2_en_csv_v2_920.csv@f0c3116daa9e963835786182b1d42aa1421bafd6",
    ),
    "WDI_ROYL_X_ON": Source(
        "VERIFIED", DATE_READ, _READ,
        "World Bank WDI BX.GSR.ROYL.CD charges for the use of IP, receipts (BoP, current US$), Japan",
        "github:open-numbers/ddf--open_numbers--world_development_indicators/datapoints/"
        "ddf--datapoints--bx_gsr_royl_cd--by--geo--time.csv@01a34e8b54d76160a61b0325d74254e22db06b93",
        "vintage with 2024 values",
    ),
    "WDI_ROYL_M_ON": Source(
        "VERIFIED", DATE_READ, _READ,
        "World Bank WDI BM.GSR.ROYL.CD charges for the use of IP, payments (BoP, current US$), Japan",
        "github:open-numbers/ddf--open_numbers--world_development_indicators/datapoints/"
        "ddf--datapoints--bm_gsr_royl_cd--by--geo--time.csv@01a34e8b54d76160a61b0325d74254e22db06b93",
        "vintage with 2024 values",
    ),
}


@dataclass(frozen=True)
class Snapshot:
    """Validated snapshot frames plus lineage (``vintage`` = newest source vintage)."""

    boj_monthly: pd.DataFrame  # period, ds, item, flow, value, unit, source_id, vintage
    digital_annual: pd.DataFrame  # period, frequency, item, flow, value, unit, source_id, vintage
    usdjpy: pd.DataFrame  # period, ds, value, unit, source_id, vintage
    ai_adoption: pd.DataFrame  # period, indicator, value, unit, source_id, vintage
    wdi_annual: pd.DataFrame  # period, item, flow, value, unit, source_id, vintage
    sources: pd.DataFrame  # source_id, status, vintage, vintage_basis, title, location, note
    vintage: str
    sha256: str  # of MANIFEST.json, which holds the sha256 of every file


# ---------------------------------------------------------------------------------------------
# Reading CSVs (shared inputs and our own files alike)


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    """All cells as text, so validation sees them as written; one-line errors."""
    if not path.is_file():
        raise DataValidationError(f"{name}: file not found ({path})")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{name}: unreadable CSV: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataValidationError(f"{name}: unreadable CSV: {first}") from None
    if frame.empty:
        raise DataValidationError(f"{name}: no data rows")
    return frame


def _require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{name}: missing required column (column {', '.join(missing)})")


# ---------------------------------------------------------------------------------------------
# Build


def _with_vintage(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Attach each row's vintage from the registry; a source id without one is an error."""
    vintages = {sid: src.vintage for sid, src in SOURCE_REGISTRY.items()}
    vintage = frame["source_id"].map(vintages)
    unknown = vintage.isna()
    if unknown.any():
        first = unknown.idxmax()
        others = int(unknown.sum()) - 1
        more = f"; {others} more failure(s)" if others else ""
        raise DataValidationError(
            f"{name}: row {first + 2}: source_id not in the source registry, no vintage known "
            f"(column source_id, value {frame.at[first, 'source_id']!r}){more}"
        )
    return frame.assign(vintage=vintage.astype(str))


def _boj_monthly(shared: Path) -> pd.DataFrame:
    name = "japan_services_boj_monthly.csv"
    raw = _read_csv(shared / name, name)
    _require_columns(raw, ["period", "item", "flow", "value", "unit", "source_id"], name)
    kept = raw[raw["item"].isin(schemas.BOJ_ITEMS)]
    out = _with_vintage(kept[["period", "item", "flow", "value", "unit", "source_id"]], name)
    out = schemas.validate(out, schemas.BOJ_MONTHLY, name)  # row numbers = lines of the input
    flow_order = out["flow"].map({f: i for i, f in enumerate(schemas.FLOWS)})
    return out.assign(_f=flow_order).sort_values(["item", "period", "_f"]).drop(columns="_f")


def _digital_annual(shared: Path) -> pd.DataFrame:
    name = "digital_services_bop.csv"
    raw = _read_csv(shared / name, name)
    _require_columns(raw, ["period", "frequency", "item", "flow", "value_100m_yen", "source_id"], name)
    out = raw.rename(columns={"value_100m_yen": "value"}).assign(unit=schemas.YEN_UNIT)
    out = _with_vintage(out[["period", "frequency", "item", "flow", "value", "unit", "source_id"]], name)
    # Curated order of the reference file is kept (it groups figures by definition and source).
    return schemas.validate(out, schemas.DIGITAL_ANNUAL, name)


def _usdjpy(shared: Path) -> pd.DataFrame:
    name = "usdjpy.csv"
    raw = _read_csv(shared / name, name)
    _require_columns(raw, ["period", "value", "source_id"], name)
    out = _with_vintage(raw[["period", "value", "source_id"]].assign(unit=schemas.FX_UNIT), name)
    out = out[["period", "value", "unit", "source_id", "vintage"]]
    return schemas.validate(out, schemas.USDJPY_MONTHLY, name).sort_values("period")


def _ai_adoption(shared: Path) -> pd.DataFrame:
    name = "ai_adoption.csv"
    raw = _read_csv(shared / name, name)
    _require_columns(raw, ["period", "indicator", "value", "unit", "source_id"], name)
    out = _with_vintage(raw[["period", "indicator", "value", "unit", "source_id"]], name)
    return schemas.validate(out, schemas.AI_ADOPTION, name)


def _wdi_annual(shared: Path) -> pd.DataFrame:
    name = "japan_services_wdi_annual.csv"
    raw = _read_csv(shared / name, name)
    _require_columns(raw, ["period", "item", "flow", "value", "unit", "source_id"], name)
    out = _with_vintage(raw[["period", "item", "flow", "value", "unit", "source_id"]], name)
    out = schemas.validate(out, schemas.WDI_ANNUAL, name)
    return out.sort_values(["item", "flow", "period"])


def _sources_frame(used: set[str]) -> pd.DataFrame:
    rows = [
        {"source_id": sid, "status": s.status, "vintage": s.vintage, "vintage_basis": s.vintage_basis,
         "title": s.title, "location": s.location, "note": s.note}
        for sid, s in sorted(SOURCE_REGISTRY.items())
        if sid in used
    ]
    return schemas.validate(pd.DataFrame(rows), schemas.SOURCES, SOURCES_FILE)


def _format_value(v: float) -> str:
    # Shortest text that reads back to the same float; integers without ".0" (億円 are whole).
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.reset_index(drop=True)
    if "value" in out.columns:
        out = out.assign(value=[_format_value(v) for v in out["value"]])
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same directory, then os.replace: readers never see a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these are ordinary, shareable package files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


INPUT_FILES = (
    "japan_services_boj_monthly.csv",
    "digital_services_bop.csv",
    "usdjpy.csv",
    "ai_adoption.csv",
    "japan_services_wdi_annual.csv",
)


def build_snapshot(shared_data_dir: Path, out_dir: Path) -> dict:
    """Read the reference files in ``shared_data_dir``, write the snapshot to ``out_dir``.

    Returns the manifest (also written as ``MANIFEST.json``, last, so that a complete manifest
    always describes complete files). Nothing time-dependent is written: rebuilds are identical.
    """
    shared = Path(shared_data_dir)
    out = Path(out_dir)
    frames = {
        BOJ_FILE: _boj_monthly(shared),
        DIGITAL_FILE: _digital_annual(shared),
        USDJPY_FILE: _usdjpy(shared),
        AI_FILE: _ai_adoption(shared),
        WDI_FILE: _wdi_annual(shared),
    }
    used = set().union(*(set(f["source_id"]) for f in frames.values()))
    frames[SOURCES_FILE] = _sources_frame(used)

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for name, frame in frames.items():
        data = _csv_bytes(frame)
        _write_atomic(out / name, data)
        files[name] = {"rows": len(frame), "sha256": _sha256(data), "vintage": max(frame["vintage"])}
        if name != SOURCES_FILE:
            files[name]["source_ids"] = sorted(set(frame["source_id"]))
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "snapshot_vintage": max(f["vintage"] for f in files.values()),
        "files": files,
        "inputs": {name: _sha256((shared / name).read_bytes()) for name in INPUT_FILES},
    }
    _write_atomic(out / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())
    return manifest


# ---------------------------------------------------------------------------------------------
# Load


def _load_file(directory: Path, name: str, schema: pa.DataFrameSchema) -> pd.DataFrame:
    frame = schemas.validate(_read_csv(directory / name, name), schema, name)
    if "period" in frame.columns and schema in (schemas.BOJ_MONTHLY, schemas.USDJPY_MONTHLY):
        frame.insert(1, "ds", pd.to_datetime(frame["period"], format="%Y-%m"))  # month start
    return frame


def _check_lineage(frame: pd.DataFrame, name: str, sources: pd.DataFrame) -> None:
    """Every row's source id is registered in sources.csv with the same vintage."""
    known = dict(zip(sources["source_id"], sources["vintage"], strict=True))
    registered = frame["source_id"].map(known)
    bad = registered.isna() | (registered != frame["vintage"])
    if bad.any():
        i = bad.idxmax()
        rule = "source_id not in sources.csv" if pd.isna(registered[i]) else "vintage differs from sources.csv"
        raise DataValidationError(
            f"{name}: row {i + 2}: {rule} (column source_id, value {frame.at[i, 'source_id']!r})"
        )


def _read_manifest(directory: Path) -> tuple[dict, bytes]:
    path = directory / MANIFEST
    if not path.is_file():
        raise DataValidationError(f"{MANIFEST}: file not found ({path})")
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
        files, vintage = manifest["files"], manifest["snapshot_vintage"]
        if not isinstance(files, dict) or not isinstance(vintage, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise DataValidationError(f"{MANIFEST}: unreadable manifest (needs 'files' and 'snapshot_vintage')") from None
    return manifest, data


_LOAD_ORDER: tuple[tuple[str, str, pa.DataFrameSchema], ...] = (
    ("boj_monthly", BOJ_FILE, schemas.BOJ_MONTHLY),
    ("digital_annual", DIGITAL_FILE, schemas.DIGITAL_ANNUAL),
    ("usdjpy", USDJPY_FILE, schemas.USDJPY_MONTHLY),
    ("ai_adoption", AI_FILE, schemas.AI_ADOPTION),
    ("wdi_annual", WDI_FILE, schemas.WDI_ANNUAL),
)


def load_snapshot(snapshot_dir: Path | None = None) -> Snapshot:
    """Load and validate the snapshot (default: the copy shipped in ``features/data/snapshot``).

    Contents are validated first (so a bad file is reported by its rule), then each file's
    sha256 is compared with MANIFEST.json (so an edited file is caught even if it is well formed).
    """
    directory = Path(snapshot_dir) if snapshot_dir is not None else DEFAULT_SNAPSHOT_DIR
    frames = {field: _load_file(directory, name, schema) for field, name, schema in _LOAD_ORDER}
    sources = _load_file(directory, SOURCES_FILE, schemas.SOURCES)
    for field, name, _ in _LOAD_ORDER:
        _check_lineage(frames[field], name, sources)

    manifest, manifest_bytes = _read_manifest(directory)
    for name in [n for _, n, _ in _LOAD_ORDER] + [SOURCES_FILE]:
        entry = manifest["files"].get(name)
        actual = _sha256((directory / name).read_bytes())
        if not isinstance(entry, dict) or entry.get("sha256") != actual:
            raise DataValidationError(
                f"{MANIFEST}: sha256 of {name} does not match the manifest "
                "(file changed after the snapshot was built; rebuild it with `deficit data snapshot`)"
            )
    return Snapshot(
        **frames, sources=sources, vintage=manifest["snapshot_vintage"], sha256=_sha256(manifest_bytes)
    )


def _main(argv: list[str] | None = None) -> None:
    """``python -m features.snapshot --from ../shared/data [--out DIR]`` (the CLI wraps the same call)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, help="folder with the reference CSVs")
    parser.add_argument("--out", dest="target", type=Path, default=DEFAULT_SNAPSHOT_DIR, help="snapshot folder")
    args = parser.parse_args(argv)
    manifest = build_snapshot(args.source, args.target)
    print(f"snapshot {manifest['snapshot_vintage']} written to {args.target}")


if __name__ == "__main__":
    _main()


__all__ = ["SOURCE_REGISTRY", "Snapshot", "Source", "build_snapshot", "load_snapshot"]
