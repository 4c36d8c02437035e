"""Move answers in and out of the store: the release scripts' reference format and full JSONL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from eibench import __version__
from eibench.atomic import write_text
from eibench.data.files import iter_jsonl
from eibench.data.images import key_problem
from eibench.data.load import Dataset
from eibench.data.schema import Sample
from eibench.errors import DataError
from eibench.models.clean import clean_text
from eibench.store.db import Store
from eibench.store.locks import writer_lock
from eibench.store.records import Generation, Judgment, RunConfig, is_current

ExportFormat = Literal["reference", "jsonl"]


def export_run(
    store: Store, run: str, dataset: Dataset, fmt: ExportFormat, out: Path
) -> tuple[int, int]:
    """Write the run's answers; returns (written, left out for lack of an answer).

    `reference` is the release scripts' format, one `{image: answer}` per line in release order
    (answered samples only). `jsonl` has one record per sample of the run with everything: the
    sample, the prompt, raw and clean text, usage, status and error, and every judgment of
    the answer.
    """
    config = store.require_run(run)
    stored = {g.sample_id: g for g in store.generations(run)}
    judged: dict[str, list[dict[str, Any]]] = {}
    if fmt == "jsonl":
        for judgment in store.judgments(run):
            judged.setdefault(judgment.sample_id, []).append(judgment_record(judgment, stored))
    lines, missing = [], 0
    for sample in dataset.samples:
        generation = stored.get(sample.id)
        if fmt == "reference":
            if generation is None or generation.status != "ok":
                missing += generation is not None
                continue
            lines.append(json.dumps({sample.image: generation.clean}, ensure_ascii=False))
        elif generation is not None:
            record = {
                "sample": sample.model_dump(),
                "generation": generation.model_dump(mode="json"),
                "judgments": judged.get(sample.id, []),
                "config": config.model_dump(mode="json"),
            }
            lines.append(json.dumps(record, ensure_ascii=False))
    write_text(out, "".join(line + "\n" for line in lines))
    return len(lines), missing


def judgment_record(judgment: Judgment, generations: dict[str, Generation]) -> dict[str, Any]:
    """A judgment as exported: who judged, the status, recall and per-trigger evidence, and
    whether it is on the answer stored now (`current`)."""
    verdict = judgment.verdict
    generation = generations.get(judgment.sample_id)
    return {
        "judge": judgment.judge,
        "protocol": judgment.protocol,
        "status": judgment.status,
        "current": is_current(generation, judgment.answer_digest),
        "recall": None if verdict is None else verdict.recall,
        "correct": None if verdict is None else verdict.correct,
        "total": None if verdict is None else verdict.total,
        "judge_total": None if verdict is None else verdict.judge_total,
        "precision": None if verdict is None else verdict.precision,
        "triggers": [] if verdict is None else [t.model_dump() for t in verdict.triggers],
        "unmatched_claims": [] if verdict is None else list(verdict.unmatched_claims),
        "raw": judgment.raw,
        "error_kind": judgment.error_kind,
        "error_message": judgment.error_message,
    }


def read_reference(path: Path, dataset: Dataset) -> list[tuple[Sample, str]]:
    """The (sample, text) pairs of a file in the release scripts' format, one `{image: text}`
    per line (answers, or a judge's outputs).

    Basic lines are matched by image key. Complex lines, whose image keys repeat, are matched
    by line order, and each line's key must equal the release's key at that position. A line
    that matches nothing, a duplicate, an unsafe image key, or a value that is not a string is a
    `DataError`; so is anything the shared JSON reader refuses (a lone surrogate, say).
    """
    samples: Sequence[Sample] = dataset.samples
    answers: list[tuple[Sample, str]] = []
    by_image = {s.image: s for s in samples}
    seen: dict[str, int] = {}
    for number, pairs in iter_jsonl(path):
        if len(pairs) != 1:
            raise DataError(path, "expected one {image: answer} pair per line", line=number)
        ((image, answer),) = pairs
        problem = key_problem(image)
        if problem:
            raise DataError(path, problem, line=number, key=image)
        if not isinstance(answer, str):
            raise DataError(
                path,
                f"answer must be a string, got {type(answer).__name__}",
                line=number,
                key=image,
            )
        if dataset.split == "complex":
            position = len(answers)
            if position >= len(samples):
                raise DataError(
                    path, f"more answers than the {len(samples)} complex samples", line=number
                )
            sample = samples[position]
            if sample.image != image:
                raise DataError(
                    path,
                    f"line order disagrees with the release: expected {sample.image!r}",
                    line=number,
                    key=image,
                )
        else:
            if image not in by_image:
                raise DataError(
                    path, f"no {dataset.split} sample has this image", line=number, key=image
                )
            if image in seen:
                raise DataError(
                    path, f"duplicate answer (first on line {seen[image]})", line=number, key=image
                )
            seen[image] = number
            sample = by_image[image]
        answers.append((sample, answer))
    return answers


def import_answers(store: Store, path: Path, run: str, label: str, dataset: Dataset) -> int:
    """Bring answers produced elsewhere (reference format) into the store as run `run`.
    Everything is checked before anything is written, the run included: a file that fails,
    or holds no answer, leaves the store as it was. Re-importing replaces, never duplicates.
    """
    answers = read_reference(path, dataset)
    if not answers:
        raise DataError(path, "no answers (expected one {image: answer} per line)")
    config = RunConfig(
        model=label,
        split=dataset.split,
        setting="imported",
        persona="",
        prompt_version="",
        dataset=dataset.fingerprint,
        package_version=__version__,
    )
    generations = [
        Generation(
            run=run,
            sample_id=s.id,
            image=s.image,
            status="ok",
            raw=answer,
            clean=clean_text(answer),
            prompt="",
        )
        for s, answer in answers
    ]
    with writer_lock(store.workspace, "run", run):
        store.ensure_run(run, config)
        store.put_generations(generations)
    return len(generations)
