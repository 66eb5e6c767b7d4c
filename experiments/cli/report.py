"""``deficit report``: write a monthly study's HTML report again from its MLflow run alone,
in English or Japanese (``--lang``), for a given run or the newest one."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    run_id: str | None = typer.Option(None, "--run-id", help="The refresh run (its id in MLflow)."),
    latest: bool = typer.Option(False, "--latest", help="The newest refresh run with a report (of --study, if given)."),
    study: str | None = typer.Option(None, "--study", help="With --latest: only this study's runs."),
    lang: str = typer.Option("en", "--lang", help="Labels in en (English) or ja (Japanese)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="HTML file to write (atomically); default STUDY-RUN8.LANG.html here."
    ),
    mlruns_dir: Path = typer.Option(
        Path("mlruns"), "--mlruns-dir", help="Local store used when MLFLOW_TRACKING_URI is unset."
    ),
) -> None:
    """Write the report of a refresh run (its leaderboard, tests, diagnostics and projections)."""
    from experiments.reports.html import render_study_report
    from experiments.reports.inputs import latest_report_run, load_report_inputs
    from experiments.reports.labels import LANGS
    from experiments.tracking.store import resolve_tracking_uri, use_tracking
    from features.atomic import write_text_atomic
    from features.errors import DataValidationError

    if lang not in LANGS:
        raise DataValidationError(f"--lang {lang!r} is not one of {', '.join(LANGS)}")
    if (run_id is None) == (not latest):
        raise DataValidationError("name a run: --run-id ID or --latest (one of them)")
    if study is not None and not latest:
        raise DataValidationError("--study selects among runs for --latest; --run-id names one already")
    client = use_tracking(resolve_tracking_uri(None, mlruns_dir))
    run_id = run_id or latest_report_run(client, study)
    inputs = load_report_inputs(client, run_id)
    html = render_study_report(inputs, lang)
    path = output or Path(f"{inputs.meta['study']}-{run_id[:8]}.{lang}.html")
    write_text_atomic(path, html)
    print(f"wrote {path} (run {run_id}, study {inputs.meta['study']}, {lang})")
