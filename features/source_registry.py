"""Where each figure of the snapshot comes from: the source registry transcribed from SOURCES.md.

``vintage`` is the date a source's figures were published (or, where SOURCES.md states none, read),
so that a figure is never dated before it could have been known.
"""

from __future__ import annotations

from dataclasses import dataclass

DATE_READ = "2026-11-29"  # SOURCES.md: "date read = 2026-11-29 for every source"


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

# Source registry, transcribed from SOURCES.md (sections 1, 2, 3, 5, 6). Where SOURCES.md gives only
# a month or a year, the last day of it is used so that a figure is never dated before it could
# have been known; where it gives no date at all, the date read is used (same reason).
SOURCE_REGISTRY: dict[str, Source] = {
    # --- BOJ monthly flat file and the annual sums derived from it (section 5a, section 1)
    "BOJ_BP_M_JP_2017": Source(
        "VERIFIED",
        "2017-05-26",
        "commit date of the copy read (data through 2017-03)",
        "BOJ 国際収支統計 bulk file bp_m_jp.zip (monthly, 億円, NSA) http://www.stat-search.boj.or.jp/info/bp_m_jp.zip",
        f"{_AM}/csv/csvData/TSdata/国際収支統計.csv@3a62dc31e0e60c1ca381b31331e5829c570dd782",
        "2014-2015 final, 2016 first annual revision, 2017-01..03 first preliminary",
    ),
    "DRV_BOJ_BP_M_ANNUAL": Source(
        "DERIVED",
        "2017-05-26",
        "vintage of its input BOJ_BP_M_JP_2017",
        "calendar-year sums of 12 BOJ_BP_M_JP_2017 monthly values",
        "shared/data/japan_services_boj_monthly.csv",
        "each month rounded to 1億円: a sum may differ by a few 億円",
    ),
    # --- BOJ API services total, monthly (section 6): a related indicator, not a digital figure
    "BOJ_API_BP01_SERVICES_2026_09": Source(
        "VERIFIED",
        "2026-09-08",
        "LAST_UPDATE of the BOJ API response (20260908)",
        "BOJ Time-Series Data Search API response, BP01 series BPBP6JYNSN サービス収支 "
        "('Services/Net balance', monthly, 100 million Yen)",
        "github:huyou963-qi/finance-site/src/lib/data/scheduler/bojExternal/fixtures/services.json"
        "@396b5c00958ac13a52227abf549ddd043f6c605a",
        "services total incl. travel and transport: a related indicator, not a digital figure; "
        "1996-01..2026-07, API decimals kept",
    ),
    # --- MOF digital balance as reported (section 1)
    "BOP_JIJI_2024CY": Source(
        "VERIFIED",
        "2025-02-10",
        _STATED,
        "時事通信 2025-02-10「デジタル赤字、6.6兆円…」",
        "https://news.infoseek.co.jp/amp/article/250210jijiX607",
        "2024 preliminary",
    ),
    "BOP_JIJI_2023CY": Source(
        "VERIFIED",
        "2024-02-29",
        _STATED,
        "時事通信 2024-02-29「デジタル赤字、5.5兆円 DX進展で拡大基調―23年」",
        "https://sp.m.jiji.com/english/show/31538",
        "2023 preliminary",
    ),
    "DRV_2023_RECEIPTS": Source(
        "DERIVED",
        "2024-02-29",
        "vintage of its input BOP_JIJI_2023CY",
        "2023 receipts = payments + balance of BOP_JIJI_2023CY (92,463 - 55,360)",
        "https://sp.m.jiji.com/english/show/31538",
    ),
    "BOP_FUJI_2024": Source(
        "VERIFIED",
        "2024-12-31",
        "SOURCES.md states 'Dec 2024' only; last day of that month used",
        "夕刊フジ/ZAKZAK column (Dec 2024)",
        "https://news.infoseek.co.jp/amp/article/fuji_G4NY6VDSJNOVZKUAJJICDXGSIQ",
        "rounded to 0.01兆",
    ),
    "BOP_MRI_2024": Source(
        "VERIFIED",
        "2024-04-25",
        _STATED,
        "三菱総合研究所「デジタル赤字拡大は悪いことなのか？」2024-04-25",
        "https://www.mri.co.jp/knowledge/insight/20240425.html",
        "approx.",
    ),
    "BOP_DIAMOND_2023": Source(
        "VERIFIED",
        "2023-02-28",
        "SOURCES.md states '2023-02' only; last day of that month used",
        "野口悠紀雄, ダイヤモンド・オンライン 2023-02",
        "https://diamond.jp/articles/-/318133",
        "0.1兆 precision, 2022 first preliminary",
    ),
    "BOP_PRESIDENT_2024": Source(
        "VERIFIED",
        "2024-12-31",
        "SOURCES.md states '2024' only; last day of that year used",
        "PRESIDENT Online「近年激増している「デジタル赤字」とは」",
        "https://president.jp/articles/amp/85855?page=4",
    ),
    "BOP_FINASEE_KARAKAMA": Source(
        "VERIFIED",
        DATE_READ,
        _READ,
        "唐鎌大輔, Finasee「外資系コンサルブームも「新時代の赤字」に寄与」",
        "https://media.finasee.jp/articles/-/14300?page=2",
        "cites 2023 data",
    ),
    "DRV_2023_COPYRIGHT": Source(
        "DERIVED",
        DATE_READ,
        "latest vintage of its inputs (BOP_FINASEE_KARAKAMA, date read)",
        "2023 copyright balance = BOP_JIJI_2023CY total - BOP_PRESIDENT_2024 TCI - BOP_FINASEE_KARAKAMA consulting",
        "shared/data/SOURCES.md",
        "vintage mismatch between inputs: rough (error of a few thousand 億円 possible)",
    ),
    "BOP_JIJI_FY2024H1": Source(
        "VERIFIED",
        "2024-11-11",
        _STATED,
        "時事通信 2024-11-11「今年度上期の経常黒字、過去最大=15.8兆円」",
        "https://sp.m.jiji.com/article/show/3382302",
    ),
    "BOP_JIJI_FY2024": Source(
        "VERIFIED",
        "2025-05-12",
        _STATED,
        "時事通信 2025-05-12 (2024年度国際収支速報)",
        "http://forincs.com/headlines.php?src=2025051200216.xml",
    ),
    "BOP_JIJI_2025H1": Source(
        "VERIFIED",
        "2025-08-08",
        _STATED,
        "時事通信 2025-08-08「上半期の経常黒字14.5兆円」",
        "https://newsdas-web-stg.life-ranger.jp/Article/MyNews/NewsDetail/Genre/592446",
    ),
    "BOP_TOYOKEIZAI_2025": Source(
        "VERIFIED",
        "2026-02-28",
        "SOURCES.md states '2026-02' only; last day of that month used",
        "唐鎌大輔, 東洋経済オンライン 2026-02",
        "https://toyokeizai.net/articles/-/934947?page=2",
        "approx.",
    ),
    "BOP_SOUMU_R07": Source(
        "VERIFIED",
        "2025-07-08",
        _STATED,
        "総務省「令和7年版 情報通信白書」デジタル関連項目のサービス収支の動向",
        "https://www.soumu.go.jp/johotsusintokei/whitepaper/ja/r07/html/nd113220.html",
        "approx., revised data",
    ),
    "BOP_METI_2025": Source(
        "VERIFIED",
        "2025-04-30",
        "date of the METI report stated; the reporting article's date is not",
        "経済産業省「デジタル経済レポート」(2025-04-30) as reported by newton-consulting",
        "https://www.newton-consulting.co.jp/itilnavi/flash/id=8001",
        "approx., secondary report",
    ),
    "BOP_KYODO_2024": Source(
        "VERIFIED",
        "2025-02-11",
        _STATED,
        "共同通信 via 熊本日日新聞 2025-02-11「24年「デジタル赤字」6兆円超」",
        "https://kumanichi.com/articles/1685611",
        "core3 definition inferred",
    ),
    "BOP_ASAHI_FY2024": Source(
        "VERIFIED",
        "2025-05-12",
        _STATED,
        "朝日新聞 2025-05-12 (2024年度国際収支速報)",
        "https://japantoday.jp/?p=142345",
        "core3 definition inferred",
    ),
    "BOP_DIGITAL_AGENCY_2024": Source(
        "VERIFIED",
        "2024-06-21",
        "date of the quoted plan stated; the quoting page's date is not",
        "デジタル庁「デジタル社会の実現に向けた重点計画」(2024-06-21), quoted",
        "https://chugai-ad.co.jp/3217",
        "secondary quotation; core3 definition inferred",
    ),
    "BOP_MOF_SHOHOSEN_2024": Source(
        "VERIFIED",
        "2024-03-26",
        "date of the MOF meeting material stated",
        "財務省「国際収支から見た日本経済の課題と処方箋」第1回 (2024-03-26) material, quoted",
        "https://moneytimes.jp/archives/402474/3",
        "approx., secondary quotation",
    ),
    "DRV_COMMINFO": Source(
        "DERIVED",
        "2025-05-12",
        "latest vintage of its inputs (BOP_JIJI_FY2024 / BOP_ASAHI_FY2024)",
        "telecom + information = mof3 - core3 of same-release pairs",
        "shared/data/SOURCES.md",
        "depends on the inferred core3 definition",
    ),
    # --- USD/JPY (section 2)
    "FX_FRED_EXJPUS": Source(
        "VERIFIED",
        "2025-05-27",
        "commit date of the copy read",
        "FRED EXJPUS, Japanese Yen to U.S. Dollar, monthly average of H.10 noon buying rates",
        "github:mulemule02/investments_project/EXJPUS.csv@2e703aabc6d5efc0661d379f2438ebb60fe542d0",
    ),
    "FX_FRED_DEXJPUS_MONTHLY_MEAN": Source(
        "DERIVED",
        "2026-05-22",
        "last daily observation of the copy read",
        "monthly mean of FRED daily DEXJPUS (days with a value)",
        "github:sakudiff/FINARTS_FINAL-PAPER/data/raw/FRED_JPY_USD_ExchangeRate.csv@daa3f88437162fa70fcbd6e46b10a501e5d8ff6c",
        "reproduces EXJPUS within 0.00005 yen over 2018-01..2025-04",
    ),
    # --- AI adoption (section 3)
    "AI_SOUMU_R07_IND": Source(
        "VERIFIED",
        "2025-07-08",
        "publication date of 令和7年版 stated",
        "総務省 令和7年版 情報通信白書「AI利用の現状 (1) 個人」",
        "https://www.soumu.go.jp/johotsusintokei/whitepaper/ja/r07/text/nd112210.txt",
    ),
    "AI_LEDGE_2025": Source(
        "VERIFIED",
        "2025-07-10",
        _STATED,
        "ledge.ai 2025-07-10 (reports the 令和7年版 white paper)",
        "https://ledge.ai/categories/public",
        "secondary",
    ),
    "AI_SOUMU_R07_FIRM": Source(
        "VERIFIED",
        "2025-07-08",
        "publication date of 令和7年版 stated",
        "総務省 令和7年版「企業におけるAI利用の現状」",
        "https://www.soumu.go.jp/johotsusintokei/whitepaper/ja/r07/html/nd112220.html",
    ),
    "AI_SOUMU_R06_FIRM": Source(
        "VERIFIED",
        "2024-07-31",
        "SOURCES.md states 'July 2024' only; last day of that month used",
        "総務省 令和6年版 情報通信白書",
        "https://www.soumu.go.jp/johotsusintokei/whitepaper/ja/r06/html/nd151120.html",
    ),
    "AI_NIKKEI_2024": Source(
        "VERIFIED",
        "2024-07-05",
        _STATED,
        "日本経済新聞 2024-07-05「生成AIの個人利用、日本は9%どまり」",
        "nikkei.com article DGXZQOUA036VW0T00C24A7000000 (read via a mirror)",
        "secondary",
    ),
    "AI_INSOURCE_2025": Source(
        "VERIFIED",
        "2025-12-29",
        _STATED,
        "インソース 2025-12-29",
        "https://www.insource.co.jp/contents/hr-article-no82082.html",
        "secondary",
    ),
    "AI_WOMANSLABO_2025": Source(
        "VERIFIED",
        DATE_READ,
        _READ,
        "womanslabo news (FY2024 firm survey figures)",
        "https://womanslabo.com/news-women-250716-3",
        "secondary; the address suggests 2025-07-16 (not stated)",
    ),
    "AI_BND_2026": Source(
        "VERIFIED",
        DATE_READ,
        _READ,
        "blog.bnd.jp (quotes IPA DX動向2025, JUAS, Eurostat, UK figures)",
        "https://blog.bnd.jp/?p=15121",
        "secondary blog; primary reports not read",
    ),
    # --- World Bank WDI (section 5c)
    "WDI_CCIS_2026": Source(
        "VERIFIED",
        "2026-02-24",
        "WDI 'Last Updated Date' of the file read",
        "World Bank WDI BX.GSR.CCIS.CD ICT service exports (BoP, current US$), Japan",
        "github:AleHerreraSoria/green-ai-analytics-platform/data/World_Bank_Group/"
        "API_BX.GSR.CCIS.CD_DS2_en_csv_v2_920.csv@f0c3116daa9e963835786182b1d42aa1421bafd6",
    ),
    "WDI_ROYL_X_ON": Source(
        "VERIFIED",
        DATE_READ,
        _READ,
        "World Bank WDI BX.GSR.ROYL.CD charges for the use of IP, receipts (BoP, current US$), Japan",
        "github:open-numbers/ddf--open_numbers--world_development_indicators/datapoints/"
        "ddf--datapoints--bx_gsr_royl_cd--by--geo--time.csv@01a34e8b54d76160a61b0325d74254e22db06b93",
        "vintage with 2024 values",
    ),
    "WDI_ROYL_M_ON": Source(
        "VERIFIED",
        DATE_READ,
        _READ,
        "World Bank WDI BM.GSR.ROYL.CD charges for the use of IP, payments (BoP, current US$), Japan",
        "github:open-numbers/ddf--open_numbers--world_development_indicators/datapoints/"
        "ddf--datapoints--bm_gsr_royl_cd--by--geo--time.csv@01a34e8b54d76160a61b0325d74254e22db06b93",
        "vintage with 2024 values",
    ),
}
