"""The ``deficit`` command line.

Errors caused by input (bad config, missing or malformed data, unknown series or model, an
unreachable model URI) print one line on stderr and exit 2; nothing is written in that case.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import click
import typer

import experiments.runtime  # noqa: F401  (must precede mlflow/prophet imports)
from experiments.cli.backtest import backtest as backtest_command
from experiments.cli.data import data_app
from experiments.cli.registry import registry_app
from experiments.cli.report import report as report_command
from experiments.cli.scenarios import scenarios_app

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Forecast Japan's digital deficit: refresh models, predict, manage data.",
)
app.add_typer(data_app, name="data")
app.add_typer(scenarios_app, name="scenarios")
app.command("backtest")(backtest_command)
app.add_typer(registry_app, name="registry")
app.command("report")(report_command)

DEFAULT_CONFIG = Path("configs/default.yaml")
# The present: monthly estimates and forecasts from every published figure (experiments/studies/mixed/).
DEFAULT_MODEL_URI = "models:/digital-deficit-monthly-now@champion"


class OutputFormat(str, Enum):
    csv = "csv"
    json = "json"


@app.command()
def refresh(
    config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="Refresh config (YAML)."),
    n_jobs: int | None = typer.Option(None, "--n-jobs", min=1, help="Parallel workers (overrides the config)."),
    scheduler_address: str | None = typer.Option(
        None, "--scheduler-address", help="Run the backtests on this Dask scheduler (tcp://host:port)."
    ),
    local_cluster: bool = typer.Option(
        False,
        "--dask-local",
        help="Run the backtests on a Dask LocalCluster (executor.n_workers, else n_jobs workers).",
    ),
    force_promote: bool = typer.Option(
        False, "--force-promote", help="Make the new model champion whatever the gate says (recorded as forced)."
    ),
    wait: bool = typer.Option(
        False, "--wait", help="If another refresh is running, wait for it to end instead of exiting with status 75."
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Only check the config, its scenarios, the local data and "
        "every study's panel; fetch, run and write nothing.",
    ),
) -> None:
    """Validate data, backtest every model, register the winners and write projections."""
    from rich.console import Console

    from experiments.cli.progress import progress_reporter
    from experiments.refresh import check_refresh, run_refresh
    from experiments.reports.console import print_outcome

    if check:
        checked = check_refresh(config, Path.cwd())
        from experiments.studies.kinds import study_kinds

        studies = sum(len(kind.studies(checked)) for kind in study_kinds())
        print(f"ok: {config} is valid ({studies} studies; data, scenarios and panels checked; nothing written)")
        return

    err = Console(stderr=True)
    notices: list[str] = []
    with progress_reporter(err) as progress:
        outcomes = run_refresh(
            config,
            Path.cwd(),
            n_jobs=n_jobs,
            progress=progress,
            force_promote=force_promote,
            notice=notices.append,
            scheduler_address=scheduler_address,
            dask_local=local_cluster,
            wait=wait,
        )
    out = Console()
    for outcome in outcomes:
        print_outcome(out, outcome)
    for line in notices:
        out.print(line, soft_wrap=True)


@app.command()
def predict(
    horizon: int = typer.Option(24, "--horizon", "-h", min=1, help="Periods after each series' last observation."),
    model_uri: str = typer.Option(DEFAULT_MODEL_URI, "--model-uri", help="Any MLflow model URI."),
    fmt: OutputFormat = typer.Option(OutputFormat.csv, "--format", help="csv or json on stdout."),
    series: list[str] | None = typer.Option(None, "--series", help="Limit to these series (repeatable)."),
    mlruns_dir: Path = typer.Option(
        Path("mlruns"), "--mlruns-dir", help="Local store used when MLFLOW_TRACKING_URI is unset."
    ),
    scenario: list[str] | None = typer.Option(
        None, "--scenario", help="Project under this scenario (repeatable: one block of rows per scenario)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (atomically) instead of stdout."
    ),
) -> None:
    """Print projections from a registered model (default: the monthly-now champion, from the present)."""
    from experiments.cli.predict import load_and_predict
    from features.atomic import write_text_atomic
    from features.csv_export import csv_text

    frame = load_and_predict(model_uri, horizon, series, mlruns_dir, scenario)
    if fmt is OutputFormat.json:
        text = frame.to_json(orient="records", date_format="iso", force_ascii=False) + "\n"
    else:
        text = csv_text(frame, date_format="%Y-%m-%d")
    if output is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(output, text)


def _one_line(exc: BaseException, message: str | None = None) -> str:
    """First line of ``message`` (default ``str(exc)``), redacted; the exception's type name if empty."""
    from features.redact import redact_credentials

    text = (str(exc) if message is None else message).strip() or type(exc).__name__
    return redact_credentials(text.splitlines()[0])


def main() -> None:
    from features.errors import DeficitError

    try:
        app(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except (click.ClickException, typer._click.exceptions.ClickException) as exc:  # typer 0.29 vendors click
        print(f"error: {_one_line(exc, exc.format_message())}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except DeficitError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the CLI's promise: one line, no traceback
        from mlflow.exceptions import MlflowException

        from experiments.studies.monthly.projection import ProjectionRequestError

        if isinstance(exc, (MlflowException, ProjectionRequestError, OSError)):
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
