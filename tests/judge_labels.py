"""The judge-agreement labelled set (`tests/data/judge_labels/`): its rows joined with their
samples' triggers; shared by `tests/test_judge_labels.py` and `benchmarks/judge_agreement.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eibench.data import load_split

FOLDER = Path(__file__).parent / "data" / "judge_labels"


def load_judge_labels(data: Path) -> list[dict[str, Any]]:
    """Each labelled answer with `triggers` and `emotion` (`complex` for that split) added."""
    basic = {s.image: s for s in load_split(data, "basic").samples}
    complex_ = {(s.image, s.question): s for s in load_split(data, "complex").samples}
    rows = []
    for line in (FOLDER / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["split"] == "basic":
            sample = basic[row["image"]]
            emotion = sample.emotion
        else:
            sample = complex_[(row["image"], row["question"])]
            emotion = "complex"
        rows.append({**row, "triggers": sample.triggers, "emotion": emotion})
    return rows
