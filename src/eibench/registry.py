"""Names to implementations: the one small registry type behind model backends, settings and
judge protocols. A registry lists its names in the order they were registered; the CLI's
choices and the experiment files' vocabularies are read from it, so a name is written once,
where its implementation is registered."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Generic, Literal, TypeVar, cast

from eibench.errors import EIBenchError

T = TypeVar("T")


def resolve(reference: str) -> Any:
    """The object a `module:attr` reference names, imported now (`attr` may be dotted)."""
    module, _, attr = reference.partition(":")
    found: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        found = getattr(found, part)
    return found


def literal_of(names: Sequence[str]) -> Any:
    """`Literal[names...]`, built at run time: the choices typer offers and pydantic accepts.
    Type checkers see the alias declared for it under `TYPE_CHECKING` (a plain `str`)."""
    return cast(Any, Literal).__getitem__(tuple(names))


def or_list(items: Sequence[str]) -> str:
    """`a, b or c`."""
    return " or ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))


def one_of(names: Sequence[str]) -> str:
    """`'a', 'b' or 'c'`: the names as pydantic lists a `Literal`'s values."""
    return or_list([repr(name) for name in names])


class Registry(Generic[T]):
    """Entries by name, in registration order. `kind` names what is registered, for messages
    ("setting", "judge protocol")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T, *, replace: bool = False) -> T:
        """Add `entry` as `name`; a name already taken is refused unless `replace`."""
        if not name:
            raise ValueError(f"a {self.kind} needs a name")
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is registered already")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove `name` (for tests and plug-ins that replace one)."""
        self._entries.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> T:
        """The entry for `name`; an unknown name is a one-line `EIBenchError` listing the
        known ones."""
        try:
            return self._entries[name]
        except KeyError:
            raise EIBenchError(
                f"unknown {self.kind} {name!r} (one of {', '.join(self.names())})"
            ) from None

    def check(self, name: str) -> str:
        """`name` when it is registered, else `ValueError` worded as pydantic words a
        `Literal`'s (for a field validator)."""
        if name not in self._entries:
            raise ValueError(f"Input should be {one_of(self.names())}")
        return name

    def literal(self) -> Any:
        """The names registered now, as a `Literal` type (see `literal_of`)."""
        return literal_of(self.names())
