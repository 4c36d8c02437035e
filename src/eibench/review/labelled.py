"""Labelled sets: answers with people's per-trigger labels, in the format of the project's own
set (`tests/data/judge_labels/labels.jsonl`, see its GUIDE.md), and how far an offline judge
agrees with them, overall and per answer style.

One JSON object per line: `split` ("basic" or "complex"), `image` (and `question` for the
complex split) naming a release sample, `answer`, `labels` (one 0/1 per ground-truth trigger of
the sample, in order), and optionally `style`, `fold`, and `denied` (1-based indices of triggers
the answer mentions but denies or gives to another person).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eibench.data import load_split
from eibench.errors import DataError
from eibench.judges.semantic import SemanticJudge
from eibench.review.calibration import Calibration, calibrate
from eibench.validation import describe


class LabelledAnswer(BaseModel):
    """One line of a labelled set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    split: Literal["basic", "complex"]
    image: str
    question: str | None = None
    style: str = ""
    answer: str = Field(min_length=1)
    labels: list[Literal[0, 1]] = Field(min_length=1)
    denied: list[int] = Field(default_factory=list)
    fold: str = ""

    @model_validator(mode="after")
    def _denied_are_uncovered(self) -> LabelledAnswer:
        for index in self.denied:
            if not 1 <= index <= len(self.labels) or self.labels[index - 1]:
                raise ValueError(f"denied trigger {index} is not one labelled 0")
        return self


@dataclass(frozen=True)
class Labelled:
    """A labelled answer with its sample's ground-truth triggers."""

    row: LabelledAnswer
    triggers: list[str]
    emotion: str  # the sample's emotion, or "complex"


def load_labelled(path: Path, data: Path, fold: str = "all") -> list[Labelled]:
    """The labelled answers of `path` (those of `fold`, unless "all"), each joined with its
    release sample in `data`. A bad line, an unknown sample or a label count that differs from
    the sample's triggers is a one-line error naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"cannot read the labelled set: {exc}") from None
    basic = {s.image: s for s in load_split(data, "basic").samples}
    complex_ = {(s.image, s.question): s for s in load_split(data, "complex").samples}
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = LabelledAnswer.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(path, f"not JSON: {exc.msg}", line=number) from None
        except ValidationError as exc:
            raise DataError(path, describe(exc, LabelledAnswer), line=number) from None
        sample = basic.get(row.image) if row.split == "basic" else complex_.get(
            (row.image, row.question or "")
        )  # fmt: skip
        if sample is None:
            raise DataError(path, f"no {row.split} sample {row.image!r} in {data}", line=number)
        if len(row.labels) != len(sample.triggers):
            raise DataError(path, f"{len(row.labels)} labels for {len(sample.triggers)} "
                            "ground-truth triggers", line=number)  # fmt: skip
        if fold in ("all", row.fold):
            emotion = sample.emotion if row.split == "basic" else "complex"
            out.append(Labelled(row, list(sample.triggers), emotion))
    return out


@dataclass(frozen=True)
class StyleAgreement:
    """A judge against a labelled set: overall and per style, and the denied mentions."""

    overall: Calibration
    styles: dict[str, Calibration]
    denied: int  # denied or other-person mentions in the set
    denied_kept: int  # of those, how many the judge did not count as covered


def style_agreement(rows: Sequence[Labelled], covered: Sequence[Sequence[bool]]) -> StyleAgreement:
    """Agreement of the judge's covered flags (one list per row) with the rows' labels."""
    human = {str(i): [bool(x) for x in r.row.labels] for i, r in enumerate(rows)}
    judged = {str(i): list(c) for i, c in enumerate(covered)}
    styles = {}
    for style in sorted({r.row.style for r in rows if r.row.style}):
        ids = [str(i) for i, r in enumerate(rows) if r.row.style == style]
        styles[style] = calibrate({i: human[i] for i in ids}, {i: judged[i] for i in ids})
    denied = [covered[i][k - 1] for i, r in enumerate(rows) for k in r.row.denied]
    return StyleAgreement(
        overall=calibrate(human, judged), styles=styles, denied=len(denied),
        denied_kept=sum(not c for c in denied),
    )  # fmt: skip


def offline_agreement(rows: Sequence[Labelled], judge: SemanticJudge) -> StyleAgreement:
    """Judge every labelled answer with the offline `judge` and compare with the labels."""
    verdicts = judge.judge_many([(r.row.answer, r.triggers) for r in rows])
    return style_agreement(rows, [[t.covered for t in v.triggers] for v in verdicts])
