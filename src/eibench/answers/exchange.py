"""Move answers in and out of the store: the release scripts' reference format and full JSONL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from eibench.atomic import write_text
from eibench.data.load import Dataset
from eibench.data.reference import read_reference
from eibench.errors import DataError
from eibench.models.clean import clean_text
from eibench.records.runs import Generation, Judgment, RunConfig, is_current
from eibench.store.db import Store
from eibench.store.locks import writer_lock
from eibench.version import __version__

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
