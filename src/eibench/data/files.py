"""Strict readers for every JSON and JSON Lines file eibench reads, with errors located by line.

Valid JSON is read as written: lines are split on "\\n" only (a "\\r" before it is dropped), so a
U+2028, U+0085 or form feed inside a string stays in its line. What JSON allows but no text
file or store can hold is refused at read time with a `DataError` naming the file and line: a
lone UTF-16 surrogate (`"\\ud800"`), nesting deeper than `MAX_DEPTH`, and an integer with more
than `MAX_INT_DIGITS` digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eibench.errors import DataError

MAX_DEPTH = 100
"""The deepest nesting of arrays and objects read; eibench's own files nest a few levels."""

MAX_INT_DIGITS = 4300
"""The most digits an integer may have (Python's default limit for converting one)."""

_SPACE = " \t\r\n"  # JSON's whitespace: a line of only these is blank
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_INT = re.compile(rf"\d{{{MAX_INT_DIGITS + 1},}}")


def read_text(path: Path) -> str:
    """Read a UTF-8 file; a missing or non-UTF-8 file is a `DataError` naming it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, expected a file") from None
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(path, f"not valid UTF-8 (byte {exc.start})", line=line) from None


def split_lines(text: str) -> list[str]:
    """The lines of `text`, split on "\\n" only, each without a trailing "\\r".

    Unlike `str.splitlines`, characters that JSON allows raw inside a string (U+2028, U+2029,
    U+0085, \\x0b, \\x0c, \\x1c-\\x1e) do not end a line.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


class Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs, duplicate keys kept so they can be checked."""


class _TooManyDigits(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _TooManyDigits(digits)
    return int(text)


def _value_problem(value: Any) -> tuple[str, str | None] | None:
    """What in a parsed value no file or store can hold, and under which top-level key."""
    stack: list[tuple[Any, int, str | None]] = [(value, 0, None)]
    while stack:
        item, depth, top = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return f"lone surrogate \\u{ord(found.group()):04x} (not valid Unicode)", top
            continue
        if not isinstance(item, (list, dict)):
            continue
        if depth >= MAX_DEPTH:
            return f"JSON nested deeper than {MAX_DEPTH} levels", top
        if isinstance(item, Pairs | dict):
            pairs = item if isinstance(item, Pairs) else list(item.items())
            for key, inner in reversed(pairs):
                here = key if depth == 0 else top
                stack += [(inner, depth + 1, here), (key, depth + 1, here)]
        else:
            stack += [(inner, depth + 1, top) for inner in reversed(item)]
    return None


def parse_json(text: str, path: Path, *, line: int | None = None, pairs: bool = True) -> Any:
    """Parse `text`, the whole of `path` or (with `line`) one line of it.

    Objects become `Pairs` (duplicate keys kept), or dicts with `pairs=False`. Malformed JSON
    and what `_value_problem` finds are a `DataError` naming the file, and the line where it
    is known.
    """

    def located(index: int) -> int:
        return line if line is not None else text.count("\n", 0, index) + 1

    hook = Pairs if pairs else None
    try:
        value = json.loads(text, object_pairs_hook=hook, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        at = exc.lineno if line is None else line
        raise DataError(path, f"malformed JSON ({exc.msg}, column {exc.colno})", line=at) from None
    except RecursionError:
        raise DataError(path, f"JSON nested deeper than {MAX_DEPTH} levels", line=line) from None
    except _TooManyDigits as exc:
        found = _LONG_INT.search(text)
        problem = f"integer with {exc.digits} digits (more than {MAX_INT_DIGITS})"
        raise DataError(path, problem, line=located(found.start() if found else 0)) from None
    found_problem = _value_problem(value)
    if found_problem is not None:
        message, key = found_problem
        if line is None and key is not None:
            line = key_lines(text).get(key)
        raise DataError(path, message, line=line, key=key)
    return value


def _iter_objects(path: Path, *, pairs: bool) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(split_lines(read_text(path)), 1):
        if not line.strip(_SPACE):
            continue
        value = parse_json(line, path, line=number, pairs=pairs)
        if not isinstance(value, dict if not pairs else Pairs):
            kind = "array" if isinstance(value, list) else type(value).__name__
            raise DataError(path, f"expected a JSON object, got {kind}", line=number)
        yield number, value


def iter_jsonl(path: Path) -> Iterator[tuple[int, Pairs]]:
    """Yield (line number, the line's object as key/value pairs) for each non-blank line."""
    yield from _iter_objects(path, pairs=True)


def iter_jsonl_dicts(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, the line's object as a dict) for each non-blank line."""
    yield from _iter_objects(path, pairs=False)


def read_json_object(path: Path) -> tuple[str, Pairs]:
    """Read a file holding one JSON object; return its text and its top-level pairs."""
    text = read_text(path)
    value = parse_json(text, path)
    if not isinstance(value, Pairs):
        kind = "array" if isinstance(value, list) else type(value).__name__
        raise DataError(path, f"expected a JSON object, got {kind}", line=1)
    return text, value


_KEY_AT_LINE_START = re.compile(r'^\s*[{,]?\s*("(?:[^"\\]|\\.)*")\s*:', re.MULTILINE)


def key_lines(text: str) -> dict[str, int]:
    """The line on which each object key that starts a line first appears, in one pass."""
    lines: dict[str, int] = {}
    number, last = 1, 0
    for match in _KEY_AT_LINE_START.finditer(text):
        number += text.count("\n", last, match.start())
        last = match.start()
        try:
            key = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        lines.setdefault(key, number)
    return lines
