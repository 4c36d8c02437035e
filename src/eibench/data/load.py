"""Load the EIBench release into `Sample` records, refusing bad input with a located error."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eibench.data.chars import char_problems
from eibench.data.files import Pairs, iter_jsonl, key_lines, read_json_object
from eibench.data.images import key_problem
from eibench.data.release import BASIC_QUESTIONS, BASIC_TRUTH, COMPLEX, release_root
from eibench.data.schema import Finding, Sample, Split
from eibench.data.triggers import count_items, parse_triggers
from eibench.errors import DataError, EIBenchError


@dataclass
class Dataset:
    """The samples of one split, in release order, and the oddities met while loading them."""

    split: Split
    samples: list[Sample]
    findings: list[Finding] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """A hash of the samples' content: equal for equal data, whatever the file layout."""
        digest = hashlib.sha256()
        for sample in self.samples:
            digest.update(sample.model_dump_json().encode())
        return digest.hexdigest()[:16]

    def by_id(self) -> dict[str, Sample]:
        return {sample.id: sample for sample in self.samples}


def _string(value: Any, path: Path, what: str, *, line: int | None, key: str) -> str:
    if not isinstance(value, str):
        kind = "object" if isinstance(value, Pairs) else type(value).__name__
        raise DataError(path, f"{what} must be a string, got {kind}", line=line, key=key)
    return value


def _check_key(key: str, path: Path, line: int | None) -> None:
    problem = key_problem(key)
    if problem:
        raise DataError(path, problem, line=line, key=key)


def _chars(
    text: str, what: str, path: Path, line: int | None, key: str, found: list[Finding]
) -> None:
    """Error findings for control and bidirectional characters in a key, question or triggers."""
    verb = "hold" if what == "triggers" else "holds"
    where = f"{path.name}:{line}" if line else path.name
    for problem in char_problems(text):
        found.append(Finding(level="error", where=where, message=f"{key}: {what} {verb} {problem}"))


def _triggers(text: str, path: Path, line: int | None, key: str, found: list[Finding]) -> list[str]:
    triggers = parse_triggers(text)
    if not triggers:
        raise DataError(path, "empty trigger list", line=line, key=key)
    where = f"{path.name}:{line}" if line else path.name
    dropped = count_items(text) - len(triggers)
    if dropped > 0:
        found.append(
            Finding(
                level="warning",
                where=where,
                message=f"{key}: dropped {dropped} empty trigger item(s)",
            )
        )
    elif text != text.rstrip():
        found.append(
            Finding(
                level="warning",
                where=where,
                message=f"{key}: trailing whitespace in the trigger list",
            )
        )
    return triggers


def load_basic(root: Path) -> Dataset:
    """Join `EI_Basic/user.jsonl` (questions) and `basic_ground_truth.json` (triggers) by key."""
    found: list[Finding] = []
    qpath, tpath = root / BASIC_QUESTIONS, root / BASIC_TRUTH
    questions = _basic_questions(qpath, found)
    truths, lines = _basic_truths(tpath, found)
    for key, (_, number) in questions.items():
        if key not in truths:
            raise DataError(
                qpath, f"no ground truth for this key in {tpath.name}", line=number, key=key
            )
    for key in truths:
        if key not in questions:
            raise DataError(
                tpath, f"no question for this key in {qpath.name}", line=lines.get(key), key=key
            )
    samples = [
        Sample.create("basic", key, q, truths[key][0], truths[key][1])
        for key, (q, _) in questions.items()
    ]
    return Dataset("basic", samples, found)


def _basic_questions(qpath: Path, found: list[Finding]) -> dict[str, tuple[str, int]]:
    """key -> (question, line) from `user.jsonl`; a repeated identical line is counted once."""
    questions: dict[str, tuple[str, int]] = {}
    for number, pairs in iter_jsonl(qpath):
        for key, value in pairs:
            _check_key(key, qpath, number)
            question = _string(value, qpath, "question", line=number, key=key)
            if key in questions:
                if questions[key][0] != question:
                    raise DataError(
                        qpath,
                        f"duplicate key, different question (first on line {questions[key][1]})",
                        line=number,
                        key=key,
                    )
                message = f"{key}: duplicate of line {questions[key][1]}, counted once"
                found.append(
                    Finding(level="warning", where=f"{qpath.name}:{number}", message=message)
                )
                continue
            _chars(key, "image key", qpath, number, key, found)
            _chars(question, "question", qpath, number, key, found)
            questions[key] = (question, number)
    if not questions:
        raise DataError(qpath, "no samples (no {image: question} line)")
    return questions


def _basic_truths(
    tpath: Path, found: list[Finding]
) -> tuple[dict[str, tuple[list[str], str]], dict[str, int]]:
    """key -> (parsed triggers, raw text) from `basic_ground_truth.json`, and each key's line."""
    text, pairs = read_json_object(tpath)
    lines = key_lines(text)
    truths: dict[str, tuple[list[str], str]] = {}
    raw_truths: dict[str, str] = {}
    for key, value in pairs:
        line = lines.get(key)
        _check_key(key, tpath, line)
        raw = _string(value, tpath, "trigger list", line=line, key=key)
        if key in raw_truths:
            if raw_truths[key] != raw:
                raise DataError(tpath, "duplicate key with different triggers", line=line, key=key)
            message = f"{key}: duplicate key, counted once"
            found.append(Finding(level="warning", where=f"{tpath.name}:{line}", message=message))
            continue
        raw_truths[key] = raw
        _chars(raw, "triggers", tpath, line, key, found)
        truths[key] = (_triggers(raw, tpath, line, key, found), raw)
    return truths, lines


def load_complex(root: Path) -> Dataset:
    """Read `EI_Complex/ec_complex.jsonl`: one (image, question, triggers) sample per line.

    An image appears several times with different questions, so a sample is identified by
    (image, question), never by the image alone.
    """
    found: list[Finding] = []
    path = root / COMPLEX
    seen: dict[tuple[str, str], tuple[str, int]] = {}
    samples: list[Sample] = []
    for number, pairs in iter_jsonl(path):
        for image, inner in pairs:
            _check_key(image, path, number)
            if not isinstance(inner, Pairs):
                kind = type(inner).__name__
                raise DataError(
                    path, f"expected {{question: triggers}}, got {kind}", line=number, key=image
                )
            if not inner:
                raise DataError(path, "no question for this image", line=number, key=image)
            for question, value in inner:
                raw = _string(value, path, "trigger list", line=number, key=image)
                if (image, question) in seen:
                    first_raw, first_line = seen[image, question]
                    if first_raw != raw:
                        raise DataError(
                            path,
                            f"same image and question as line {first_line} with different triggers",
                            line=number,
                            key=image,
                        )
                    found.append(
                        Finding(
                            level="warning",
                            where=f"{path.name}:{number}",
                            message=f"{image}: duplicate of line {first_line}, counted once",
                        )
                    )
                    continue
                seen[image, question] = (raw, number)
                for text, what in ((image, "image key"), (question, "question"), (raw, "triggers")):
                    _chars(text, what, path, number, image, found)
                triggers = _triggers(raw, path, number, image, found)
                samples.append(Sample.create("complex", image, question, triggers, raw))
    if not samples:
        raise DataError(path, "no samples (no {image: {question: triggers}} line)")
    return Dataset("complex", samples, found)


_LOADERS = {"basic": load_basic, "complex": load_complex}


def load_split(data: Path, split: Split) -> Dataset:
    """Load one split from a release folder (`DIR/EI_Basic/...` or `DIR/EIBench/EI_Basic/...`)."""
    root = release_root(Path(data))
    if root is None:
        raise EIBenchError(f"{data}: no EIBench release here (expected EI_Basic/ and EI_Complex/)")
    return _LOADERS[split](root)
