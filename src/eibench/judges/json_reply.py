"""Finding the JSON object in a judge's reply.

Judges rarely reply with bare JSON: the object may sit in a code fence or among prose, may have
trailing commas or raw newlines and tabs inside strings, and a reply may hold several objects
(an example, then the answer). `find_json_object` picks the one meant as the answer and repairs
what it safely can; when nothing readable is left it raises `JudgeParseError` with a message
worded to be sent back to the judge (no JSON object, invalid JSON, an object cut off or nested
too deeply). Checking the object's contents is the caller's job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from eibench.records.verdict import JudgeParseError

_MAX_FAILURES = 64  # unreadable `{` tried before giving up on a reply full of braces
_DECODER = json.JSONDecoder(strict=False)  # allows raw newlines and tabs inside strings


def find_json_object(text: str, keys: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON object in `text` meant as the answer: all of `text` when it is one object,
    else the last object holding every one of `keys`, else the last holding at least one.
    Failing those (or with no `keys`), raises why the likeliest candidate is unreadable (the
    first unreadable span that mentions a key, else the first unreadable span), or returns the
    first object found. At most `_MAX_FAILURES` unreadable `{` are tried."""
    if not text.strip():
        raise JudgeParseError("The reply is empty: it contains no JSON object.")
    whole = _loads(text.strip())
    if isinstance(whole, dict):
        return whole
    if whole is not None:
        raise JudgeParseError(f"The reply is {json_kind(whole)}, not a JSON object.")
    objects: list[dict[str, Any]] = []
    failures: list[tuple[bool, str]] = []  # (mentions an expected key, why it is unreadable)
    pos = text.find("{")
    while pos != -1 and len(failures) < _MAX_FAILURES:
        obj, end, failure = _object_at(text, pos)
        if obj is not None:
            objects.append(obj)
            pos = text.find("{", end)
            continue
        failures.append((any(f'"{k}"' in text[pos:end] for k in keys), failure))
        pos = text.find("{", pos + 1)
    for wanted in (len(keys), 1) if keys else ():
        keyed = [o for o in objects if sum(k in o for k in keys) >= wanted]
        if keyed:
            return keyed[-1]
    if failures:  # the first failure that looks like the answer, else the first one
        raise JudgeParseError(next((f for keyed, f in failures if keyed), failures[0][1]))
    if objects:
        return objects[0]
    raise JudgeParseError(f"The reply contains no JSON object: {clip(text)}")


def json_kind(value: Any) -> str:
    """What a decoded JSON value is, for an error message: "a list", "null", ..."""
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
    return "null" if value is None else kinds.get(type(value), "an object")


def clip(text: str, limit: int = 60) -> str:
    """`text` on one line, cut to `limit` characters with "..." where it is longer."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _object_at(text: str, start: int) -> tuple[dict[str, Any] | None, int, str]:
    """The object that opens at `start` and where it ends, or None, where the unreadable span
    ends and why it is unreadable."""
    try:
        value, end = _DECODER.raw_decode(text, start)
        return value, end, ""  # text[start] is "{", so a decoded value is an object
    except (ValueError, RecursionError) as exc:
        error: Exception = exc
    close = _closing(text, start)
    if close is None:
        cut = f"The JSON object that starts at character {start} is never closed: it is cut off."
        return None, len(text), cut
    value = _loads(_drop_trailing_commas(text[start:close]))
    if isinstance(value, dict):
        return value, close, ""
    if isinstance(error, json.JSONDecodeError):
        detail = f"{error.msg} at character {error.pos}"
    else:
        detail = "nested too deeply" if isinstance(error, RecursionError) else str(error)
    return None, close, f"The reply is not valid JSON: {clip(text[start:close])} ({detail})."


def _loads(text: str) -> Any:
    """The JSON value that is all of `text`, or None when it is not one."""
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError):
        return None


def _closing(text: str, start: int) -> int | None:
    """The end of the bracketed span that opens at `start`, or None if it never closes."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            in_string = escaped or ch != '"'
            escaped = not escaped and ch == "\\"
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _drop_trailing_commas(chunk: str) -> str:
    """`chunk` without the commas (outside strings) that come just before `}` or `]`."""
    out: list[str] = []
    in_string, escaped = False, False
    for i, ch in enumerate(chunk):
        if in_string:
            in_string = escaped or ch != '"'
            escaped = not escaped and ch == "\\"
        elif ch == '"':
            in_string = True
        elif ch == ",":
            j = i + 1
            while j < len(chunk) and chunk[j].isspace():
                j += 1
            if chunk[j : j + 1] in ("}", "]"):
                continue
        out.append(ch)
    return "".join(out)
