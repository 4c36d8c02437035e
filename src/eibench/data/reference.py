"""The release scripts' file format: one `{image: text}` per line (answers, or a judge's outputs),
read against a split."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eibench.data.files import iter_jsonl
from eibench.data.images import key_problem
from eibench.data.load import Dataset
from eibench.data.schema import Sample
from eibench.errors import DataError


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
