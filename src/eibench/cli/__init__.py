"""The `eibench` command: thin typer commands over the library."""

from __future__ import annotations

import os
import sqlite3
import sys
import types

import typer
from rich.markup import escape

from eibench.cli.console import err, out
from eibench.cli.lazy import LazyGroup, parse_commands
from eibench.errors import EIBenchError
from eibench.version import __version__


class _Package(types.ModuleType):
    """`eibench.cli` itself. Its `run` stays the entry-point function below when the `run`
    command's module, also named `eibench.cli.run`, is imported after this package (on first
    use), as it did when every command was imported up front."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "run" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def judge_app() -> typer.Typer:
    """`eibench judge`, with `judge calibrate` (which lives with the review commands)."""
    from eibench.cli.calibrate import calibrate
    from eibench.cli.judge import judge_app as group

    if not any(c.name == "calibrate" for c in group.registered_commands):
        group.command(name="calibrate")(calibrate)
    return group


# The commands, in the order `eibench --help` lists them: `NAME = where it lives`, then its
# short help, the first paragraph of its own help (tests/test_cli_lazy.py keeps them equal).
# Each is imported only when it runs or shows its own help.
COMMANDS = parse_commands(
    """
run = eibench.cli.run:run
Answer the benchmark with a model. Re-run the same command to resume: only what is
missing is done (and what failed, with --retry-failed).

score = eibench.cli.score:score
Recall per category and overall (micro, as the paper; macro beside it) with 95%
bootstrap intervals and the counts behind every mean; long-term coherence; on the complex
split, emotion-conditioning sensitivity.

compare = eibench.cli.score:compare
Paired test of RUN_A against RUN_B on the samples both scored: the recall difference
(A - B) with its 95% bootstrap interval and a two-sided p-value, per category and overall.

report = eibench.cli.report:report
The paper's tables for judged runs: models grouped by setting, the four categories and
Overall, `a/b` cells when both paper judge protocols are present; complex recall in a table
of its own.

eval = eibench.cli.report:eval_
Run an experiment grid: every model x split x setting x persona is answered, then judged
by every judge. What the store already has is skipped, so an interrupted grid finishes with
the same command. `${ENV}` references in the file are expanded (`${VAR:-default}` too).

quickstart = eibench.cli.report:quickstart
The whole job on the embedded defaults, offline: the `prior` baseline answers the basic
and complex splits, the `semantic` judge scores them, the tables are printed and
report.html is written.

runs = eibench.cli.runs:runs
List the runs in the store with their status counts and tokens; no name is ever cut
(the table grows past the terminal instead).

export = eibench.cli.runs:export
Write a run's answers, in the release scripts' format or as full JSON Lines.

import = eibench.cli.runs:import_
Bring answers produced elsewhere into the store, so that they can be judged.

data = eibench.cli.data:data_app
Download, describe, validate and export the EIBench release.

annotate = eibench.cli.annotate:annotate_app
CFSA: annotate images with draft trigger lists (Coarse-to-Fine Self-Ask).

cfsa = eibench.cli.annotate:cfsa_app
CFSA tools.

review = eibench.cli.review:review_app
Review campaigns: people rate annotations, refine CFSA drafts, audit judges.

judge = eibench.cli:judge_app()
Judge a stored run's (or a labelled set's) answers; `judge calibrate`: a judge against people.
"""
)


class _Root(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    cls=_Root,
    name="eibench",
    help="EIBench: measure and build Emotion Interpretation with vision-language models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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
    if not sys.stderr.isatty():  # no model-loading bars from transformers into a log or pipe
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
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
