"""The root command group imports a command only when it runs: `eibench --help` still lists
every command with the short help the command itself gives."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest
import typer

import eibench.cli
from eibench.cli import COMMANDS, app
from eibench.cli.lazy import LazyGroup, build_command


def _root() -> LazyGroup:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    return group


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_listed_short_help_is_the_first_paragraph_of_the_commands_help(name: str) -> None:
    command = build_command(name, COMMANDS[name].load())
    help_text = command.short_help or command.help or ""
    first = inspect.cleandoc(help_text).split("\n\n")[0].strip()
    assert COMMANDS[name].short_help == first, (
        f"the short help of {name!r} in eibench/cli/__init__.py COMMANDS is stale; "
        f"make it:\n{first}"
    )


def test_root_help_is_the_same_with_every_command_imported(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    lazy = _root()
    with lazy.make_context("eibench", [], resilient_parsing=True) as ctx:
        lazy.get_help(ctx)
    listed = capsys.readouterr().out
    loaded = _root()
    for name in COMMANDS:
        loaded.load(name)
    with loaded.make_context("eibench", [], resilient_parsing=True) as ctx:
        loaded.get_help(ctx)
    assert capsys.readouterr().out == listed
    for name in COMMANDS:
        assert f" {name} " in listed


def test_listing_the_commands_imports_none_of_them() -> None:
    group = _root()
    with group.make_context("eibench", [], resilient_parsing=True) as ctx:
        group.format_help(ctx, ctx.make_formatter())
    assert group.loaded == set()
    assert group.get_command(ctx, "runs") is not None
    assert group.loaded == {"runs"}


def test_a_typo_still_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert eibench.cli.run(["rnu"]) == 2
    assert "Did you mean 'run'?" in capsys.readouterr().err


def test_the_entry_point_stays_a_function_once_the_run_module_is_imported() -> None:
    module = importlib.import_module("eibench.cli.run")
    assert inspect.ismodule(module)
    assert inspect.isfunction(eibench.cli.run)
    from eibench.cli import run

    assert run is eibench.cli.run


def test_a_command_runs_in_a_fresh_process_that_imported_only_the_root() -> None:
    probe = (
        "import sys; from eibench.cli import run; code = run(['runs', '--help']); "
        "print(code, 'eibench.cli.runs' in sys.modules, 'eibench.cli.review' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 True False"
