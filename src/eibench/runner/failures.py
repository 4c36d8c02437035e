"""Failed items summed up for a person: per error kind, how many, one example message, and
what to do about them. A retry is advised only for kinds a retry can fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eibench.models.base import RETRYABLE

_CAPTION = "caption_"

# What to do about a kind that a retry can fix, after "re-run with --retry-failed".
_RETRY_HINTS = {
    "rate_limited": "; a lower --concurrency, or --adaptive, avoids them",
    "timeout": "; a longer --timeout or a lower --concurrency avoids them",
    "server_error": " once the server is up and answering",
    "empty_reply": " (empty replies are never cached, so they are asked again)",
}

# What to do about a kind that a retry as is cannot fix (the same request, the same answer).
_AFTER_FIX = "; once that is fixed, --retry-failed redoes them"
_FIXES = {
    "bad_request": "a retry cannot fix these: the server refused the request itself (see the "
    "message: the model name, the context length, --max-tokens, the image size and "
    "--max-image-side)" + _AFTER_FIX,
    "auth": "a retry cannot fix these: the server refused the API key; set the right one (see "
    "the message)" + _AFTER_FIX,
    "unavailable": "a retry cannot fix these: the model cannot be used here (see the message: "
    "the model name, a missing package, a model path)" + _AFTER_FIX,
    "input": "a retry cannot fix these: the input is bad (see the message: a missing or "
    "unreadable image under --images)" + _AFTER_FIX,
    "no_triggers": "a retry as is gets the same reply from the call cache: re-run with "
    "--retry-failed --no-cache to ask the model again",
}
_UNKNOWN = "a retry may not fix these: see the message" + _AFTER_FIX


@dataclass(frozen=True)
class FailureGroup:
    """The failures of one error kind."""

    kind: str
    count: int
    example: str  # one of their messages
    retryable: bool  # whether re-running with --retry-failed, as is, can fix them
    advice: str  # what to do, in a sentence


def advice(kind: str) -> tuple[bool, str]:
    """Whether a retry can fix failures of `kind`, and what to do about them."""
    base = kind.removeprefix(_CAPTION)
    where = "captioning: " if kind.startswith(_CAPTION) else ""
    if base in RETRYABLE:
        return True, f"{where}re-run with --retry-failed{_RETRY_HINTS.get(base, '')}"
    return False, where + _FIXES.get(base, _UNKNOWN)


def group_failures(failures: Iterable[tuple[str | None, str | None]]) -> list[FailureGroup]:
    """(error kind, message) of each failed item, grouped by kind, the largest group first."""
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for kind, message in failures:
        name = kind or "unknown"
        counts[name] = counts.get(name, 0) + 1
        if message and name not in examples:
            examples[name] = message
    groups = []
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        retryable, what = advice(name)
        example = examples.get(name, "(no message)")
        groups.append(FailureGroup(name, count, example, retryable, what))
    return groups
