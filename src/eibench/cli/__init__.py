"""The `eibench` command: thin typer commands over the library."""

from __future__ import annotations

import sqlite3
import sys

import typer
from rich.markup import escape

from eibench.cli.annotate import annotate_app, cfsa_app
from eibench.cli.console import err
from eibench.cli.data import data_app
from eibench.cli.judge import judge_app
from eibench.cli.report import eval_, quickstart, report
from eibench.cli.review import calibrate, review_app
from eibench.cli.run import run as run_command
from eibench.cli.runs import export, import_, runs
from eibench.cli.score import compare, score
from eibench.errors import EIBenchError
from eibench.version import __version__

app = typer.Typer(
    name="eibench",
    help="EIBench: measure and build Emotion Interpretation with vision-language models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_app, name="data")
app.add_typer(annotate_app, name="annotate")
app.add_typer(cfsa_app, name="cfsa")
app.add_typer(review_app, name="review")
judge_app.command(name="calibrate")(calibrate)
app.command(name="run")(run_command)
app.add_typer(judge_app, name="judge")
app.command(name="score")(score)
app.command(name="compare")(compare)
app.command(name="report")(report)
app.command(name="eval")(eval_)
app.command(name="quickstart")(quickstart)
app.command(name="runs")(runs)
app.command(name="export")(export)
app.command(name="import")(import_)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"eibench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """EIBench: measure and build Emotion Interpretation with vision-language models."""


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` and return its exit code.

    A user-facing error (bad data, a missing file, a failed download) is printed as one line on
    stderr with exit code 2; `--debug` shows the traceback instead.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        app(args=args, prog_name="eibench")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except (EIBenchError, OSError, sqlite3.Error) as exc:
        if "--debug" in args:
            raise
        if isinstance(exc, EIBenchError):
            message = str(exc)
        elif isinstance(exc, sqlite3.Error):
            message = (
                f"a store in the workspace failed ({exc}); what was committed is kept: "
                "free some space (or fix the folder) and rerun the same command"
            )
        else:
            message = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
        err.print(
            f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True, markup=True
        )
        return getattr(exc, "exit_code", 2)
    return 0
