"""The words of the study report in each language it is written in (``--lang en|ja``).

Model and series names, metric names and figures stay as they are in both: they are identifiers
an analyst searches MLflow for. Every language has every key (tests/test_report_command.py)."""

from __future__ import annotations

LANGS: tuple[str, ...] = ("en", "ja")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "refresh report",
        "registered_model": "registered model",
        "version": "version",
        "gate": "gate",
        "data_vintage": "data vintage",
        "mlflow_run": "MLflow run",
        "backtest": "backtest",
        "backtest_text": "horizon {horizon}, up to {n_origins} origins, metric {metric}; models compared on the folds they share",
        "champions": "Champion per target",
        "target": "target",
        "champion": "champion",
        "seasonal_naive": "seasonal naive",
        "ratio": "ratio",
        "last_observed": "last observed",
        "source_vintage": "source vintage",
        "projections": "Projections (champion, 80% and 95% intervals)",
        "fx_note": "Future USD/JPY: published values where they exist, then the last published value carried forward.",
        "amounts": "Projected amounts (▲ = deficit)",
        "amounts_note": "億円 = 100 million yen; 兆円 = 1 trillion yen = 10,000 億円. Brackets: 80% interval.",
        "last_figure": "last published figure",
        "first_month": "first projected month",
        "month_12": "12th month",
        "last_month": "last projected month",
        "deficit": "deficit",
        "reconciliation": "Reconciliation (backtest MASE)",
        "reconciliation_note": "The projections satisfy the study's identities by {method} reconciliation (the champions' own "
        "figures are in the CSV as yhat_base). Backtest: each fold reconciled with weights from the "
        "one-step errors known at its cutoff.",
        "published": "published",
        "base": "base",
        "error_by_horizon": "Error by horizon",
        "leaderboard": "Leaderboard",
        "rank": "rank",
        "model": "model",
        "origins": "origins",
        "dm": "Are the differences real? Diebold-Mariano tests",
        "dm_note": "Cell: one-sided p-value that the row's model has a lower expected {metric} than the column's, on the "
        "origins both forecast (HLN-corrected, {lags} lag(s) of overlap). Bold: p < 0.05.",
        "residuals": "Champion residual diagnostics",
        "residuals_note": "One-step-ahead backtest errors of each champion, one per origin. Ljung-Box p < 0.05 means "
        "autocorrelation is left in the errors; bars outside the dashed band ±1.96/√n are "
        "individually significant.",
        "n": "errors",
        "mean_error": "mean error",
        "sd_error": "sd",
        "ljung_box": "Ljung-Box p (lag {lag})",
        "verdict": "verdict",
        "white_noise": "no autocorrelation detected",
        "autocorrelated": "autocorrelation left",
        "skipped": "Skipped",
        "reason": "reason",
        "origins_skipped": "origins skipped",
    },
    "ja": {
        "title": "更新レポート",
        "registered_model": "登録モデル",
        "version": "バージョン",
        "gate": "昇格判定",
        "data_vintage": "データ時点",
        "mlflow_run": "MLflow ラン",
        "backtest": "バックテスト",
        "backtest_text": "予測期間 {horizon}、起点 最大 {n_origins}、評価指標 {metric}。各モデルは共通の検証期間で比較",
        "champions": "系列別の採用モデル",
        "target": "系列",
        "champion": "採用モデル",
        "seasonal_naive": "季節ナイーブ",
        "ratio": "比率",
        "last_observed": "最新実績",
        "source_vintage": "出典時点",
        "projections": "予測（採用モデル、80%・95% 区間）",
        "fx_note": "将来のドル円：公表値がある月は公表値、その後は最後の公表値を据え置き。",
        "amounts": "予測額（▲ は赤字）",
        "amounts_note": "1 兆円 = 1 万億円。括弧内は 80% 区間。",
        "last_figure": "最新の公表値",
        "first_month": "予測初月",
        "month_12": "12 か月目",
        "last_month": "予測最終月",
        "deficit": "赤字",
        "reconciliation": "整合化（バックテスト MASE）",
        "reconciliation_note": "予測は {method} 整合化により系列間の恒等式を満たす（採用モデル自身の値は CSV の yhat_base）。"
        "バックテストでは各検証期間を、その起点で既知の 1 期先誤差による重みで整合化。",
        "published": "公表",
        "base": "整合化前",
        "error_by_horizon": "予測期間別の誤差",
        "leaderboard": "モデル比較表",
        "rank": "順位",
        "model": "モデル",
        "origins": "起点数",
        "dm": "差は有意か：Diebold-Mariano 検定",
        "dm_note": "各セル：行のモデルの期待 {metric} が列のモデルより小さいとする片側 p 値（両者が予測した起点で比較、"
        "HLN 補正、重複ラグ {lags}）。太字：p < 0.05。",
        "residuals": "採用モデルの残差診断",
        "residuals_note": "各採用モデルのバックテスト 1 期先誤差（起点ごとに 1 つ）。Ljung-Box p < 0.05 は誤差に自己相関が"
        "残ることを示す。破線 ±1.96/√n の外の棒は個別に有意。",
        "n": "誤差数",
        "mean_error": "平均誤差",
        "sd_error": "標準偏差",
        "ljung_box": "Ljung-Box p（ラグ {lag}）",
        "verdict": "判定",
        "white_noise": "自己相関なし",
        "autocorrelated": "自己相関あり",
        "skipped": "除外",
        "reason": "理由",
        "origins_skipped": "除外した起点",
    },
}


def labels(lang: str) -> dict[str, str]:
    """The labels of ``lang``; an unknown language is a ValueError naming the known ones."""
    if lang not in LABELS:
        raise ValueError(f"unknown report language {lang!r}; known: {', '.join(LANGS)}")
    return LABELS[lang]
