"""Campaign and rater names: they become parts of file names (`score_<rater>.jsonl`) and are
shown on pages and printed as `rater<TAB>link` lines, so only plain one-line names that
cannot name another folder are accepted."""

from __future__ import annotations

import unicodedata

from eibench.errors import EIBenchError

MAX_NAME = 100  # characters
# Unicode categories refused anywhere in a name: control, format (bidirectional overrides,
# zero-width characters), surrogate, private-use and unassigned characters, line and
# paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a campaign or rater name, or None when it can."""
    if not name.strip():
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"it is longer than {MAX_NAME} characters"
    for bad in ("/", "\\", ".."):
        if bad in name:
            return f"it contains {bad!r}"
    for char in name:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"it contains the control character {char!r}"
    return None


def check_name(name: str, what: str) -> None:
    """Raise a one-line `EIBenchError` naming `name` (a `what`: "rater", "campaign") when it
    cannot be used."""
    problem = name_problem(name)
    if problem is not None:
        raise EIBenchError(f"{what} name {name!r} is not allowed: {problem}")
