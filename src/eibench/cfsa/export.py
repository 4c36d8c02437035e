"""Annotations out and in: the release format (so a batch loads as a dataset with `eibench
data` and `eibench run`), and JSONL with every stage and the review status."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eibench.atomic import write_text
from eibench.data.files import iter_jsonl_dicts
from eibench.data.images import key_problem
from eibench.data.triggers import numbered
from eibench.errors import DataError, EIBenchError
from eibench.records.annotation import Annotation, StageRecord
from eibench.store import Store
from eibench.store.annotations import load_annotations, put_annotations, put_stage, stages

EXPORTED_STATUSES = ("draft", "reviewed")


def _owner(a: Annotation) -> str:
    return f"annotate:{a.batch}:{a.id}"


def chosen(store: Store, batch: str, statuses: Sequence[str]) -> list[Annotation]:
    found = load_annotations(store, batch)
    if not found:
        raise EIBenchError(f"no annotations in batch {batch!r}")
    return [a for a in found if a.status in statuses and a.triggers and a.question]


def export_release(
    store: Store, batch: str, out: Path, statuses: Sequence[str] = EXPORTED_STATUSES
) -> tuple[int, int]:
    """Write `out/EI_Complex/ec_complex.jsonl` (every annotation) and, when each image has one
    annotation, `out/EI_Basic/{user.jsonl,basic_ground_truth.json}`. Returns (complex samples,
    basic samples)."""
    picked = chosen(store, batch, statuses)
    if not picked:
        raise EIBenchError(f"batch {batch!r} has no annotation with status {'/'.join(statuses)}")
    complex_lines = [
        json.dumps({a.image: {a.question: numbered(a.triggers)}}, ensure_ascii=False)
        for a in picked
    ]
    write_text(out / "EI_Complex" / "ec_complex.jsonl", "\n".join(complex_lines) + "\n")
    repeated = [image for image, n in Counter(a.image for a in picked).items() if n > 1]
    if repeated:
        return len(picked), 0
    user = "".join(json.dumps({a.image: a.question}, ensure_ascii=False) + "\n" for a in picked)
    truth = {a.image: numbered(a.triggers) for a in picked}
    write_text(out / "EI_Basic" / "basic_ground_truth.json", json.dumps(truth, ensure_ascii=False))
    write_text(out / "EI_Basic" / "user.jsonl", user)
    return len(picked), len(picked)


def export_jsonl(store: Store, batch: str, out: Path) -> int:
    """One record per annotation (any status) with every stage record."""
    found = load_annotations(store, batch)
    if not found:
        raise EIBenchError(f"no annotations in batch {batch!r}")
    lines = [
        json.dumps(
            {
                "annotation": a.model_dump(mode="json"),
                "stages": [s.model_dump(mode="json") for s in stages(store, _owner(a))],
            },
            ensure_ascii=False,
        )
        for a in found
    ]
    write_text(out, "".join(line + "\n" for line in lines))
    return len(lines)


def _record(data: dict[str, Any], path: Path, number: int) -> tuple[Annotation, list[StageRecord]]:
    try:
        annotation = Annotation.model_validate(data["annotation"])
        stage_list = [StageRecord.model_validate(s) for s in data.get("stages", [])]
    except (ValueError, KeyError, TypeError) as exc:
        problem = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise DataError(path, f"not an exported annotation ({problem})", line=number) from None
    unsafe = key_problem(annotation.image)
    if unsafe:
        raise DataError(path, unsafe, line=number, key=annotation.image)
    return annotation, stage_list


def import_jsonl(store: Store, path: Path, batch: str | None = None) -> int:
    """Bring annotations (with their status and stages) from an exported JSONL file; checks the
    whole file before writing anything, image keys as the data layer does. `batch` renames the
    batch."""
    records: list[tuple[Annotation, list[StageRecord]]] = []
    for number, data in iter_jsonl_dicts(path):
        annotation, stage_list = _record(data, path, number)
        if batch:
            annotation = annotation.model_copy(update={"batch": batch})
        records.append((annotation, stage_list))
    if not records:
        raise DataError(path, "no annotations in the file")
    put_annotations(store, [a for a, _ in records])
    for annotation, stage_list in records:
        for record in stage_list:
            put_stage(store, _owner(annotation), record)
    return len(records)
