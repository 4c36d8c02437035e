"""The root command group, with its commands imported only when one is run.

A command's module pulls in what its command needs (pydantic records, the store, numpy, the
SDKs); `eibench --help` needs none of it. The root group knows, per command, where it lives and
the short help that `eibench --help` lists; the command itself is imported when it runs or
shows its own help. `tests/test_cli_lazy.py` checks that each short help is the one the
command, once imported, would list.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """One command of the root group.

    target: "package.module:attribute", a command function or the `typer.Typer` of a command
    group; "package.module:factory()" calls a function that returns one. short_help: the first
    paragraph of its help, line breaks included, as `eibench --help` lists it.
    """

    target: str
    short_help: str

    def load(self) -> Any:
        """Import the command (its function or `typer.Typer`)."""
        module, _, attribute = self.target.partition(":")
        call = attribute.endswith("()")
        found = getattr(importlib.import_module(module), attribute.removesuffix("()"))
        return found() if call else found


def parse_commands(table: str) -> dict[str, LazyCommand]:
    """Commands from blocks separated by blank lines: a first line `NAME = TARGET`, then the
    short help's lines."""
    commands: dict[str, LazyCommand] = {}
    for block in table.strip().split("\n\n"):
        head, _, short_help = block.partition("\n")
        name, _, target = head.partition("=")
        commands[name.strip()] = LazyCommand(target.strip(), short_help.strip())
    return commands


def build_command(name: str, target: Any) -> TyperCommand | TyperGroup:
    """The click command that `typer.Typer` builds for `target` registered as `name` on the
    root app (a command function, or a `typer.Typer` added as a group)."""
    holder = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name=name)(target)
    command = typer.main.get_group(holder).commands[name]
    assert isinstance(command, TyperCommand | TyperGroup)
    quiet_flags(command)
    return command


def quiet_flags(command: Any) -> None:
    """Show flags (and `--help`) in `command`'s help without typer's `<bool>` type, which a
    flag that takes no value does not need; its subcommands too."""
    listed = command.get_params

    def get_params(ctx: Any) -> list[Any]:
        params: list[Any] = listed(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and not getattr(param, "count", False):
                param.metavar = ""
        return params

    command.get_params = get_params
    for sub in getattr(command, "commands", {}).values():
        quiet_flags(sub)


class LazyGroup(TyperGroup):
    """A typer group whose commands (`lazy_commands`, set by a subclass) are imported on use.

    Listing them for `--help` uses placeholders that carry only the name and the short help;
    running one, or its own `--help`, imports it.
    """

    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        quiet_flags(self)
        self._listing = False
        self.loaded: set[str] = set()  # the commands imported so far
        for name, entry in self.lazy_commands.items():
            self.commands.setdefault(name, TyperCommand(name, help=entry.short_help))

    def load(self, name: str) -> None:
        """Import command `name` (once) in place of its placeholder."""
        entry = self.lazy_commands.get(name)
        if entry is None or name in self.loaded:
            return
        self.commands[name] = build_command(name, entry.load())
        self.loaded.add(name)

    # `ctx` is click's Context, which typer vendors privately.
    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if not self._listing:
            self.load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True  # the command list needs names and short help only
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
