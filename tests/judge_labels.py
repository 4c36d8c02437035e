"""The judge-agreement labelled set (`tests/data/judge_labels/`): its rows joined with their
samples' triggers; shared by `tests/test_judge_labels.py` and `benchmarks/judge_agreement.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eibench.review.labelled import load_labelled

FOLDER = Path(__file__).parent / "data" / "judge_labels"
LABELS = FOLDER / "labels.jsonl"


def load_judge_labels(data: Path) -> list[dict[str, Any]]:
    """Each labelled answer as a dict, with `triggers` and `emotion` (`complex` for that
    split) added."""
    return [
        {**r.row.model_dump(), "triggers": r.triggers, "emotion": r.emotion}
        for r in load_labelled(LABELS, data)
    ]
