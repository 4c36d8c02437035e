"""Parse a numbered trigger list ("1. ...\n2. ...") into trigger strings."""

from __future__ import annotations

import re

from eibench.data.files import split_lines

# An item marker: "1.", "2)", "3:" or a bullet, at the start of a line, after optional spaces.
_MARKER = re.compile(r"^\s*(?:\d+\s*[.):]|[-*\u2022])(?=\s|$)\s*")


def parse_triggers(text: str) -> list[str]:
    """Split a numbered list into its items.

    Each line that starts with a number (or a bullet) starts an item; a line without one
    continues the item before it. Markers and surrounding whitespace are removed, empty items
    are dropped, and the text is otherwise kept verbatim. Lines end at "\n" only (see
    `split_lines`), so a U+2028 or U+0085 inside a trigger stays in it.
    """
    items: list[str] = []
    for line in split_lines(text):
        marker = _MARKER.match(line)
        if marker:
            items.append(line[marker.end() :].strip())
        elif items and line.strip():
            items[-1] = f"{items[-1]} {line.strip()}".strip()
        elif line.strip():
            items.append(line.strip())
    return [item for item in items if item]


def count_items(text: str) -> int:
    """How many item markers the text has, empty items included."""
    return sum(1 for line in split_lines(text) if _MARKER.match(line))
