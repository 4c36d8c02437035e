"""Trigger lists as text: parse a numbered list ("1. ...\n2. ...") into trigger strings, write
one back, and compare triggers by a normalised key."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

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


def numbered(triggers: Sequence[str], *, strip: bool = False) -> str:
    """The triggers as the release writes them: `1. trigger` lines joined by "\n".

    strip: remove surrounding whitespace from each trigger first (the structured judge's prompt
    does); by default each trigger is written verbatim.
    """
    return "\n".join(f"{i}. {t.strip() if strip else t}" for i, t in enumerate(triggers, 1))


def trigger_key(text: str, trailing: str = ".") -> str:
    """A key under which two spellings of one trigger (or question) are the same item.

    The key is case-folded with runs of whitespace collapsed to one space; then the characters
    of `trailing` (final punctuation), and any spaces that leaves at the end, are removed.
    """
    return " ".join(text.casefold().split()).rstrip(trailing).rstrip()


_BULLET = re.compile(
    r"""^(?:
        [-*+\u2022\u00b7\u2023\u2013\u2014>]+     # bullets and dashes
      | \#?\d+(?:\.\d+)*[.):\]]                   # 1.  2)  3:  1.2.  #4.
      | \(\d+\)                                   # (1)
      | \(?[a-z]\)                                # a)  (b)
      | (?:trigger|item|step)\s*\d+\s*[.):]       # Trigger 1:
    )\s*""",
    re.VERBOSE,
)
_EMPHASIS = re.compile(r"\*\*|__|`")
_EDGE_QUOTES = "\"'\u201c\u201d\u2018\u2019"
_TRAILING = re.compile(r"[\s.,;:!?\u2026\u3002" + _EDGE_QUOTES + r"]+$")
_LEADING = re.compile(r"^[\s" + _EDGE_QUOTES + r"]+")
_SPACE = re.compile(r"\s+")


def loose_trigger_key(text: str) -> str:
    """A looser `trigger_key` for drafted lists, which also ignores numbering and markup.

    text: one trigger or question as written. The key is NFKC-normalised and lower-cased, with
    list numbering and bullets ("1.", "2)", "-", "Trigger 3:"), markdown emphasis, surrounding
    quotes and trailing punctuation removed and runs of whitespace collapsed to one space.
    A text with no content left (blank, a bare "3." or "-") gives "".
    """
    key = unicodedata.normalize("NFKC", text).lower()
    key = _SPACE.sub(" ", _EMPHASIS.sub("", key)).strip()
    while True:
        stripped = _BULLET.sub("", _LEADING.sub("", key), count=1)
        if stripped == key:
            break
        key = stripped
    return _TRAILING.sub("", key).strip()
