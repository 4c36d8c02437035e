"""Labelled sets: answers with people's per-trigger labels, in the format of the project's own
set (`tests/data/judge_labels/labels.jsonl`, see its GUIDE.md), and how far an offline judge
agrees with them, overall and per answer style.

One JSON object per line: `split` ("basic" or "complex"), `image` (and `question` for the
complex split) naming a release sample, `answer`, `labels` (one 0/1 per ground-truth trigger of
the sample, in order), and optionally `style`, `fold`, and `denied` (1-based indices of triggers
the answer mentions but denies or gives to another person).

Any judge, model judges included, can be measured on such a set through the store:
`store_labelled` keeps its answers as runs, `eibench judge --labels` judges them as it judges
any run (resumable, cached, cost-accounted), and `stored_verdicts` reads the verdicts back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eibench.data import load_split
from eibench.errors import DataError
from eibench.judges.learned import LearnedJudge
from eibench.judges.semantic import SemanticJudge
from eibench.metrics.scores import current_judgments
from eibench.records.runs import LABELLED, Generation, RunConfig
from eibench.records.verdict import Verdict
from eibench.review.calibration import (
    Calibration,
    Reliability,
    calibrate,
    calibrate_counts,
    reliability,
)
from eibench.store import Store
from eibench.store.locks import writer_lock
from eibench.validation import describe
from eibench.version import __version__

T = TypeVar("T")


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
    sample_id: str


def load_labelled(path: Path, data: Path, fold: str = "all") -> list[Labelled]:
    """The labelled answers of `path` (those of `fold`, unless "all"), each joined with its
    release sample in `data`. A bad line, an unknown sample, a label count that differs from
    the sample's triggers, or no answers at all is a one-line error naming the file (and line)."""
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
            out.append(Labelled(row, list(sample.triggers), emotion, sample.id))
    if not out:
        raise DataError(path, f"no labelled answers in fold {fold!r}")
    return out


@dataclass(frozen=True)
class StyleAgreement:
    """A judge against a labelled set: overall and per style, and the denied mentions."""

    overall: Calibration
    styles: dict[str, Calibration]
    denied: int  # denied or other-person mentions in the set
    denied_kept: int  # of those, how many the judge did not count as covered
    unjudged: int = 0  # answers the judge gave no verdict on (left out of the figures)
    per_trigger: bool = True  # False: the judge gives only a count (kappa, accuracy are nan)
    reliability: Reliability | None = None  # of its per-trigger probabilities, if it gives some


def style_agreement(rows: Sequence[Labelled], covered: Sequence[Sequence[bool]]) -> StyleAgreement:
    """Agreement of the judge's covered flags (one list per row) with the rows' labels."""
    overall, styles = _per_style(rows, [list(c) for c in covered], calibrate)
    denied = [covered[i][k - 1] for i, r in enumerate(rows) for k in r.row.denied]
    return StyleAgreement(overall, styles, denied=len(denied),
                          denied_kept=sum(not c for c in denied))  # fmt: skip


def _per_style(
    rows: Sequence[Labelled],
    judged: Sequence[T],
    measure: Callable[[Mapping[str, Sequence[bool]], Mapping[str, T]], Calibration],
) -> tuple[Calibration, dict[str, Calibration]]:
    """`measure` of the rows' labels against `judged` (one per row), overall and per style."""

    def only(style: str | None) -> Calibration:
        ids = [i for i, r in enumerate(rows) if style in (None, r.row.style)]
        human = {str(i): [bool(x) for x in rows[i].row.labels] for i in ids}
        return measure(human, {str(i): judged[i] for i in ids})

    return only(None), {s: only(s) for s in sorted({r.row.style for r in rows if r.row.style})}


def verdict_agreement(
    rows: Sequence[Labelled], verdicts: Sequence[Verdict | None], *, probabilities: bool = False
) -> StyleAgreement:
    """Agreement of a judge's verdicts (one per row, None where it gave none) with the rows'
    labels: per trigger when every verdict has per-trigger flags, else (the paper's count
    protocols) per answer recall only. With `probabilities` (the per-trigger scores are
    probabilities: see `calibration.gives_probabilities`), also their reliability."""
    kept = [(r, v) for r, v in zip(rows, verdicts, strict=True) if v is not None]
    judged = [r for r, _ in kept]
    if not all(v.triggers for _, v in kept):
        overall, styles = _per_style(judged, [v.recall for _, v in kept], calibrate_counts)
        return StyleAgreement(overall, styles, denied=0, denied_kept=0,
                              unjudged=len(rows) - len(kept), per_trigger=False)  # fmt: skip
    result = style_agreement(judged, [[t.covered for t in v.triggers] for _, v in kept])
    scores = [t.score for _, v in kept for t in v.triggers]
    if probabilities and None not in scores:
        labels = [bool(x) for r in judged for x in r.row.labels]
        result = replace(
            result, reliability=reliability([s for s in scores if s is not None], labels)
        )
    return replace(result, unjudged=len(rows) - len(kept))


def offline_agreement(rows: Sequence[Labelled], judge: SemanticJudge) -> StyleAgreement:
    """Judge every labelled answer with the offline `judge` and compare with the labels."""
    verdicts = judge.judge_many([(r.row.answer, r.triggers) for r in rows])
    return verdict_agreement(rows, verdicts, probabilities=isinstance(judge, LearnedJudge))


def store_labelled(store: Store, path: Path, rows: Sequence[Labelled], data: Path) -> list[str]:
    """Keep the labelled answers as runs of the store, for any judge to judge; returns each
    row's run.

    A run holds one answer per sample, so there is a run per split and per answer number (a
    sample's second labelled answer is in the `...-2` run). Run names carry the file's name,
    the folds and a digest of the answers: the same rows map to the same runs, storing them
    again changes nothing (their verdicts stay current), and changed answers get new runs."""
    digest = hashlib.sha256(
        json.dumps([[r.row.split, r.sample_id, r.row.answer] for r in rows]).encode()
    ).hexdigest()[:8]
    folds = "+".join(sorted({r.row.fold or "nofold" for r in rows}))
    prefix = f"labels-{re.sub(r'[^A-Za-z0-9_.-]+', '-', path.stem)}-{folds}-{digest}"
    seen: Counter[tuple[str, str]] = Counter()
    names = []
    for r in rows:
        seen[r.row.split, r.sample_id] += 1
        names.append(f"{prefix}-{r.row.split}-{seen[r.row.split, r.sample_id]}")
    fingerprints = {
        split: load_split(data, split).fingerprint for split in {r.row.split for r in rows}
    }
    for name in dict.fromkeys(names):
        members = [r for r, n in zip(rows, names, strict=True) if n == name]
        split = members[0].row.split
        config = RunConfig(model=LABELLED, split=split, setting=LABELLED, persona="",
                           prompt_version="", dataset=fingerprints[split],
                           package_version=__version__)  # fmt: skip
        answers = [Generation(run=name, sample_id=r.sample_id, image=r.row.image, status="ok",
                              raw=r.row.answer, clean=r.row.answer, prompt="")
                   for r in members]  # fmt: skip
        with writer_lock(store.workspace, "run", name):
            store.ensure_run(name, config)
            store.put_generations(answers)
    return names


def stored_verdicts(
    store: Store, rows: Sequence[Labelled], runs: Sequence[str], judge: str, protocol: str
) -> list[Verdict | None]:
    """Each row's verdict by `judge` under `protocol`, as stored on its run (see
    `store_labelled`); None where the answer has no successful, current judgment."""
    current = {}
    for run in set(runs):
        answers = {g.sample_id: g for g in store.generations(run)}
        current[run] = current_judgments(store.judgments(run, judge, protocol), answers)
    out = []
    for row, run in zip(rows, runs, strict=True):
        judgment = current[run].get(row.sample_id)
        out.append(judgment.verdict if judgment is not None and judgment.status == "ok" else None)
    return out
