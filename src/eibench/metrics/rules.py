"""Scoring rule sets: how judge replies become the numbers of a table, chosen by name
(`--rules` on `score`, `compare`, `report` and `eval`) and recorded with every score.

`honest` (the default) and `release` (the release's `get_scores.py` / `get_scores_complex.py`,
exactly) differ rule by rule; `RULE_SETS` lists each set's rules as people read them, and the
functions here are those rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

RuleSetName = Literal["honest", "release"]
RULE_NAMES: tuple[RuleSetName, ...] = ("honest", "release")

ReleaseStep = Literal["judge-total", "first-strict", "llama-fallback", "stale"]
RELEASE_STEPS: dict[ReleaseStep, str] = {
    "judge-total": "c / the judge's own total t, uncapped",
    "first-strict": "the first strict {score: c/t} match; other replies unread",
    "llama-fallback": "paper-llama3: a reply without '{score: ' scored 0 (the script's 0/1)",
    "stale": "an unread reply takes the previous reply's score in its category mean",
}
"""The release's rules that differ from the honest ones, in the order the ledger applies them
(`eibench report --rules-diff`): each step's move is the change it makes on top of the ones
before it."""


class RuleSet(BaseModel):
    """A named set of scoring rules and what each rule says."""

    model_config = ConfigDict(frozen=True)

    name: RuleSetName
    summary: str
    rules: tuple[str, ...]


RULE_SETS: dict[RuleSetName, RuleSet] = {
    "honest": RuleSet(
        name="honest",
        summary="eibench's rules: the ground-truth denominator, failures counted and left out",
        rules=(
            "a reply is read tolerantly: any case, spaces, markdown, `=` for `:`, `out of` for "
            "`/`; the last {score: c/t} wins",
            "recall = min(c, n) / n with n the ground-truth trigger count, never the judge's t",
            "a reply still unreadable after the re-asks is `judge_unparsed`: counted, left out",
            "failed judge calls and unjudged answers are counted and left out",
            "per-trigger judges (semantic, triggers, entail) give their covered share",
        ),
    ),
    "release": RuleSet(
        name="release",
        summary="the release's get_scores.py / get_scores_complex.py arithmetic, exactly",
        rules=(
            "the first match of the strict, case-sensitive pattern `{score: c/t}` (one space "
            "after the colon, none around the slash)",
            "recall = c / t, the judge's own total; c > t is not checked (a recall above 1 counts "
            "as is)",
            "a reply with no match is left out of the overall, but its category mean gets the "
            "previous reply's score, in file order (the stale score); the first reply has none",
            'paper-llama3: a reply without "{score: " (any case) is "{score: 0/1}", scored 0, '
            "as the LLaMA-3 judge script wrote it after its 5 asks",
            "t = 0 stopped the release's script (division by zero); here it is left out like a "
            "reply with no match",
            "failed judge calls and unjudged answers have no line in the release's file: left "
            "out, never stale",
            "only the paper protocols' {score: c/t} replies can be read by these rules",
        ),
    ),
}

STRICT_SCORE = re.compile(r"\{score: (\d+)/(\d+)\}")
LLAMA_FALLBACK = "{score: 0/1}"  # what llama3-eval.py wrote after 5 asks without "{score: "


def release_reading(text: str) -> tuple[int, int] | None:
    """(c, t) of the first strict `{score: c/t}` in `text`, or None (none, or t is 0)."""
    match = STRICT_SCORE.search(text)
    if match is None or int(match[2]) == 0:
        return None
    return int(match[1]), int(match[2])


def release_value(text: str | None, llama_fallback: bool = False) -> float | None:
    """A reply's score under the release rules: c / t, or None when it cannot be read.
    `llama_fallback`: read the reply as the LLaMA-3 judge script wrote it to its file."""
    if text is None:
        return None
    if llama_fallback and "{score: " not in text.lower():
        text = LLAMA_FALLBACK
    reading = release_reading(text)
    return None if reading is None else reading[0] / reading[1]


def stale_scores(
    order: Iterable[str], values: Mapping[str, float], lined: Iterable[str]
) -> dict[str, float]:
    """The release's stale scores: each item in `order` that has a line (`lined`) but no value
    gets the value of the last item before it that had one (none before the first value)."""
    has_line = set(lined)
    stale: dict[str, float] = {}
    last: float | None = None
    for key in order:
        if key in values:
            last = values[key]
        elif key in has_line and last is not None:
            stale[key] = last
    return stale
