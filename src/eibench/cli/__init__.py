"""The `eibench` command: thin typer commands over the library."""

from __future__ import annotations

import sqlite3
import sys

import typer
from rich.markup import escape

from eibench.cli.annotate import annotate_app, cfsa_app
from eibench.cli.console import err, out
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


# The optional packages, by the extra that installs them: a command that needs one that is
# missing says which extra to install, in one line.
EXTRAS = {
    "fastapi": "web", "uvicorn": "web", "multipart": "web", "jinja2": "report",
    "matplotlib": "report", "scipy": "stats", "krippendorff": "stats", "torch": "hf",
    "transformers": "hf", "accelerate": "hf", "gguf": "hf", "sentence_transformers": "semantic",
    "pysbd": "semantic", "openai": "api", "anthropic": "api", "pyarrow": "export",
    "datasets": "export",
}  # fmt: skip

# Flags that take several values: `--runs A B` (as a shell glob gives them) is read as
# `--runs A --runs B`, up to the next option.
SPREAD_FLAGS = ("--runs", "--from-files")


def spread_values(args: list[str]) -> list[str]:
    """`args` with each further value after a `SPREAD_FLAGS` flag given its own flag."""
    spread: list[str] = []
    flag, has_value = None, False
    for arg in args:
        if arg.startswith("-"):
            name, equals, _ = arg.partition("=")
            flag, has_value = (name if name in SPREAD_FLAGS else None), bool(equals)
            spread.append(arg)
        elif flag and has_value:
            spread += [flag, arg]
        else:
            spread.append(arg)
            has_value = True
    return spread


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` and return its exit code.

    A user-facing error (bad data, a missing file, a failed download, a missing extra) is
    printed as one line on stderr with exit code 2; `--debug` shows the traceback instead.
    """
    args = spread_values(sys.argv[1:] if argv is None else list(argv))
    try:
        code = app(args=args, prog_name="eibench", standalone_mode=False)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except typer.Abort:  # Ctrl-C or end of input at a prompt: quiet, as at start-up
        return 130
    except typer.TyperException as exc:  # click's errors, as typer vendors them
        return _usage_error(exc)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if "--debug" in args or top not in EXTRAS:
            raise
        return _fail(
            f"this needs {top}, which is not installed: pip install 'eibench[{EXTRAS[top]}]'"
        )
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
        return _fail(message, getattr(exc, "exit_code", 2))
    return code if isinstance(code, int) else 0


def _usage_error(exc: typer.TyperException) -> int:
    """A usage error as one `error:` line naming the command's --help; a command group given
    no command prints its help instead."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        out.print(ctx.get_help(), highlight=False, markup=False)
        return 0
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return _fail(message + where, getattr(exc, "exit_code", 2))


def _fail(message: str, code: int = 2) -> int:
    """Print `message` as the one `error:` line on stderr and return `code`."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return code
