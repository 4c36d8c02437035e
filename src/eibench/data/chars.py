"""Characters that release text should not hold, found for `eibench data check`.

Control characters (NUL and every other C0 or C1 control but newline and tab) are errors: no
question or trigger needs one, and they corrupt what a terminal, a review page or a model sees.
Bidirectional controls (U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates) are
errors too: the release is English, and they make text display in another order than the one
a model reads it in, so a reviewer would check something other than what is scored.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_C0 = ("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
       "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
       "ESC", "FS", "GS", "RS", "US")  # fmt: skip
_NAMES = {**dict(enumerate(_C0)), 0x7F: "DEL", 0x85: "NEL"}


def _describe(char: str) -> str:
    code = ord(char)
    name = _NAMES.get(code) or unicodedata.name(char, "")
    return f"U+{code:04X} ({name})" if name else f"U+{code:04X}"


def char_problems(text: str) -> list[str]:
    """The first control character and the first bidirectional control in `text`, described
    ("control character U+0000 (NUL)"); empty when it holds neither."""
    problems = []
    control = _CONTROL.search(text)
    if control:
        problems.append(f"control character {_describe(control.group())}")
    bidi = _BIDI.search(text)
    if bidi:
        problems.append(f"bidirectional control {_describe(bidi.group())}")
    return problems
