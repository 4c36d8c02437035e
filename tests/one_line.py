"""The shape of a user-facing error: exit 2, one line on stderr, no traceback."""

from __future__ import annotations

from pathlib import Path

from tests.cli import Result


def assert_one_line_error(result: Result, *parts: str) -> str:
    """Check `result` failed as a user-facing error whose one line holds each of `parts`."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    message = result.err.strip()
    assert len(message.splitlines()) == 1, message
    for part in parts:
        assert part in message, (part, message)
    return message


def assert_refused(result: Result, ws: Path, *parts: str) -> str:
    """`result` is a one-line user error holding each of `parts`, and no store was made."""
    message = assert_one_line_error(result, *parts)
    assert not ws.exists()
    return message
