"""The labelled set for judge agreement (`tests/data/judge_labels/`, issue 16): every row is a
real sample of the release, with one 0/1 label per ground-truth trigger, a style from the
guide, and a fold that is the same for every answer to one sample."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from eibench.data import load_split
from tests.judge_labels import FOLDER

STYLES = {"plain", "short", "numbered", "cot", "negation", "paraphrase"}


def test_the_labelled_set_matches_the_release_and_its_guide(release_dir: Path) -> None:
    basic = {s.image: s for s in load_split(release_dir, "basic").samples}
    complex_ = {(s.image, s.question): s for s in load_split(release_dir, "complex").samples}
    rows = [json.loads(line) for line in (FOLDER / "labels.jsonl").read_text().splitlines()]
    folds: dict[tuple[str, str, str], set[str]] = {}
    emotions: Counter[str] = Counter()
    for number, row in enumerate(rows, start=1):
        if row["split"] == "basic":
            sample = basic[row["image"]]
        else:
            sample = complex_[(row["image"], row["question"])]
        assert len(row["labels"]) == len(sample.triggers), number
        assert set(row["labels"]) <= {0, 1} and row["answer"].strip(), number
        assert row["style"] in STYLES and row["fold"] in ("tune", "test"), number
        # denied mentions: sorted unique 1-based indices of triggers labelled 0
        denied = row["denied"]
        assert isinstance(denied, list) and denied == sorted(set(denied)), number
        assert all(isinstance(i, int) and 1 <= i <= len(row["labels"]) for i in denied), number
        assert all(row["labels"][i - 1] == 0 for i in denied), number
        assert list(row)[list(row).index("labels") + 1] == "denied", number
        key = (row["split"], row["image"], row.get("question", ""))
        folds.setdefault(key, set()).add(row["fold"])
        emotions[sample.emotion if row["split"] == "basic" else "complex"] += 1
    assert len(rows) >= 300 and sum(len(r["labels"]) for r in rows) >= 1300
    assert all(len(f) == 1 for f in folds.values())  # one fold per sample
    assert all(emotions[e] >= 30 for e in ("happy", "angry", "sad", "excited", "complex"))
    assert Counter(r["style"] for r in rows).keys() == STYLES
    # the share covered is neither trivial nor one-sided
    decisions = [x for r in rows for x in r["labels"]]
    assert 0.35 < sum(decisions) / len(decisions) < 0.7
    # enough denied mentions to measure a judge on them, in both folds
    assert sum(len(r["denied"]) for r in rows) >= 60
    assert sum(len(r["denied"]) for r in rows if r["fold"] == "test") >= 20
    # the guide the labels follow is beside them
    guide = (FOLDER / "GUIDE.md").read_text()
    assert "hedged" in guide.lower() and "another person" in guide and "tune" in guide
    assert "## Denied mentions" in guide and "`denied`" in guide
