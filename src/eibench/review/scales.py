"""Rating scales of rate campaigns: the whole-number scores a rater can give, and the rubric
that says what each one means (shown to raters in the app).

A rate campaign stores the name of its scale. New campaigns use the paper's 1-5 scale: the
release's human evaluation files hold "1".."5". Campaigns made before scales were stored were
rated 0-5 and keep that scale (the store migration marks them `LEGACY_SCALE`). Exported score
files get a `scale.json` beside them (`SCALE_FILE`), which `scale_beside` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eibench.errors import DataError, EIBenchError

ScaleName = Literal["1-5", "0-5"]

QUESTION = (
    "How well do the numbered triggers explain why the person in the image feels the emotion "
    "the question asks about? Check each trigger: is it in the image (or a sound inference from "
    "it)? Is it about this person and this emotion? Is a clear cause missing?"
)


class OutOfScale(EIBenchError):
    """A score outside the campaign's scale."""


@dataclass(frozen=True)
class Scale:
    """A rating scale. name: as stored with a campaign ("1-5"); low, high: the lowest and the
    highest score; rubric: (score, what it means), highest score first; question: what raters
    judge."""

    name: ScaleName
    low: int
    high: int
    rubric: tuple[tuple[int, str], ...]
    question: str = QUESTION

    @property
    def points(self) -> tuple[int, ...]:
        """Every score a rater can give, lowest first."""
        return tuple(range(self.low, self.high + 1))

    def contains(self, score: float) -> bool:
        return self.low <= score <= self.high

    def check(self, score: float) -> None:
        """Raise `OutOfScale` unless `score` is a whole number on this scale."""
        if not (self.contains(score) and float(score).is_integer()):
            raise OutOfScale(f"score {score:g} is not on the {self.name} scale: give a whole "
                             f"number from {self.low} to {self.high}")  # fmt: skip

    def describe(self) -> dict[str, object]:
        """The scale as JSON output carries it."""
        return {"name": self.name, "low": self.low, "high": self.high}


PAPER_SCALE = Scale(
    "1-5",
    1,
    5,
    (
        (5, "Excellent: every trigger is in the image and relevant to this person's emotion, "
            "and together they explain it fully."),
        (4, "Good: all triggers are right; a minor cause is missing, or a trigger is vague or "
            "repeated."),
        (3, "Fair: the main cause is there, but one trigger is wrong (not in the image) or "
            "irrelevant, or an important cause is missing."),
        (2, "Poor: only part of the explanation holds; several triggers are wrong, irrelevant "
            "or missing."),
        (1, "Unusable: the triggers do not explain the emotion (mostly hallucinated, about "
            "another person or emotion, empty, or a refusal)."),
    ),
)  # fmt: skip

LEGACY_0_5 = Scale(
    "0-5",
    0,
    5,
    (
        (5, "Every trigger is correct and relevant, and together they are complete."),
        (4, "All correct; one minor cause is missing, or a trigger is vague or repeated."),
        (3, "Mostly right, but one trigger is wrong (not in the image) or irrelevant, or an "
            "important cause is missing."),
        (2, "Several triggers are wrong, irrelevant or missing; only part of the explanation "
            "holds."),
        (1, "Barely usable: most triggers are hallucinated or do not explain the emotion."),
        (0, "Unusable: empty, a refusal, about another person or emotion, or nonsense."),
    ),
)  # fmt: skip

SCALES: dict[str, Scale] = {s.name: s for s in (PAPER_SCALE, LEGACY_0_5)}
DEFAULT_SCALE: ScaleName = "1-5"
"""The scale of a new rate campaign: the paper's."""
LEGACY_SCALE: ScaleName = "0-5"
"""The scale of rate campaigns made before campaigns stored one."""
RELEASE_SCALE = PAPER_SCALE
"""The scale of the release's `human_eval/score_*.jsonl` files."""
SCALE_FILE = "scale.json"
"""Written beside exported score files: {"campaign": NAME, "scale": {"name", "low", "high"}}."""


def get_scale(name: str) -> Scale:
    """The scale called `name` ("1-5", "0-5"); an unknown name is a one-line `EIBenchError`."""
    found = SCALES.get(name.strip())
    if found is None:
        shown = name if len(name) <= 20 else f"{name[:17]}..."
        raise EIBenchError(
            f"unknown rating scale {shown!r}: choose {DEFAULT_SCALE} (the paper's, the default) "
            f"or {', '.join(n for n in SCALES if n != DEFAULT_SCALE)}"
        )
    return found


def scale_beside(paths: Sequence[Path]) -> Scale | None:
    """The scale that the `scale.json` beside exported score files names (None when none of
    their folders has one). Raises DataError for an unreadable file, or folders that disagree."""
    found: dict[str, Path] = {}
    for folder in dict.fromkeys(path.parent for path in paths):
        path = folder / SCALE_FILE
        if not path.is_file():
            continue
        try:
            name = json.loads(path.read_text(encoding="utf-8"))["scale"]["name"]
            found[get_scale(str(name)).name] = path
        except (OSError, ValueError, TypeError, KeyError, EIBenchError) as exc:
            raise DataError(path, f"not a scale file of `eibench review export` ({exc})") from None
    if len(found) > 1:
        first, second = list(found.items())[:2]
        raise DataError(second[1], f"names scale {second[0]}, but {first[1]} names {first[0]}")
    return get_scale(next(iter(found))) if found else None
