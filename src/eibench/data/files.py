"""Strict readers for the release's JSON and JSON Lines files, with errors located by line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eibench.errors import DataError


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


class Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs, duplicate keys kept so they can be checked."""


def iter_jsonl(path: Path) -> Iterator[tuple[int, Pairs]]:
    """Yield (line number, the line's object as key/value pairs) for each non-blank line."""
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=Pairs)
        except json.JSONDecodeError as exc:
            raise DataError(
                path, f"malformed JSON ({exc.msg}, column {exc.colno})", line=number
            ) from None
        if not isinstance(value, Pairs):
            kind = type(value).__name__
            raise DataError(path, f"expected a JSON object, got {kind}", line=number) from None
        yield number, value


def read_json_object(path: Path) -> tuple[str, Pairs]:
    """Read a file holding one JSON object; return its text and its top-level pairs."""
    text = read_text(path)
    try:
        value = json.loads(text, object_pairs_hook=Pairs)
    except json.JSONDecodeError as exc:
        raise DataError(
            path, f"malformed JSON ({exc.msg}, column {exc.colno})", line=exc.lineno
        ) from None
    if not isinstance(value, Pairs):
        raise DataError(path, f"expected a JSON object, got {type(value).__name__}", line=1)
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
