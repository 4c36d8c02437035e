"""Validate a loaded split: oddities in the text become warnings, missing images errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from eibench.data.images import ImageError, open_image
from eibench.data.load import Dataset
from eibench.data.schema import BASIC_EMOTIONS, KNOWN_SOURCES, Finding, Sample

# A "question" that is really a model's refusal (the release has one).
_REFUSAL = re.compile(
    r"\b(I'?m (unable|not able|sorry)|I (cannot|can't|am unable)|as an AI)\b", re.IGNORECASE
)


def _warn(sample: Sample, message: str) -> Finding:
    return Finding(level="warning", where=f"{sample.split}:{sample.image}", message=message)


def text_findings(sample: Sample) -> list[Finding]:
    """Oddities of one sample's question and triggers."""
    found: list[Finding] = []
    question = sample.question.strip()
    if _REFUSAL.search(question):
        found.append(_warn(sample, f"question looks like a model refusal: {question[:60]!r}..."))
    elif not question.endswith("?"):
        stray = " (ends with a stray ')" if question.endswith("'") else ""
        found.append(_warn(sample, f"question does not end with '?'{stray}"))
    if question != sample.question:
        found.append(_warn(sample, "question has leading or trailing whitespace"))
    seen: set[str] = set()
    for trigger in sample.triggers:
        norm = trigger.casefold().rstrip(".")
        if norm in seen:
            found.append(_warn(sample, f"duplicate trigger {trigger!r}"))
        seen.add(norm)
    if sample.source not in KNOWN_SOURCES:
        found.append(_warn(sample, f"unknown image source {sample.source!r}"))
    if sample.split == "basic" and sample.emotion not in BASIC_EMOTIONS:
        found.append(_warn(sample, f"unknown basic emotion folder {sample.emotion!r}"))
    return found


def image_findings(root: Path, keys: Iterable[str]) -> Iterable[Finding]:
    """One error per image that is unsafe, missing or unreadable under `root`."""
    for key in keys:
        try:
            with open_image(root, key) as image:
                image.verify()
        except ImageError as exc:
            yield Finding(level="error", where=key, message=str(exc))
        except Exception as exc:  # Pillow raises many types for a corrupt file
            yield Finding(level="error", where=key, message=f"corrupt image ({exc})")


def check_dataset(
    dataset: Dataset,
    images: Path | None = None,
    progress: Callable[[Iterable[str]], Iterable[str]] = lambda keys: keys,
) -> list[Finding]:
    """Everything worth reporting about one loaded split, and its images when a root is given."""
    found = list(dataset.findings)
    for sample in dataset.samples:
        found.extend(text_findings(sample))
    if images is not None:
        keys = list(dict.fromkeys(sample.image for sample in dataset.samples))
        found.extend(image_findings(images, progress(keys)))
    return found


def exit_code(findings: list[Finding]) -> int:
    """0 when clean, 1 with warnings only, 2 with any error."""
    levels = {finding.level for finding in findings}
    return 2 if "error" in levels else 1 if levels else 0
