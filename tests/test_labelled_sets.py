"""Labelled sets (`eibench.review.labelled`) and `eibench judge calibrate --labels`: any set in
the project's format, read strictly, and each offline judge's agreement with it per style."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eibench.errors import DataError
from eibench.judges.learned import default_model
from eibench.review.calibration import reliability
from eibench.review.labelled import load_labelled, style_agreement
from tests.cli import invoke
from tests.judge_labels import LABELS

LINES = LABELS.read_text(encoding="utf-8").splitlines()


def test_the_project_set_loads_with_its_samples(release_dir: Path) -> None:
    rows = load_labelled(LABELS, release_dir)
    assert len(rows) == len(LINES)
    assert all(len(r.triggers) == len(r.row.labels) for r in rows)
    test = load_labelled(LABELS, release_dir, "test")
    assert 0 < len(test) < len(rows) and {r.row.fold for r in test} == {"test"}


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda row: "{not json", "not JSON"),
        (lambda row: json.dumps({**row, "labels": [*row["labels"], 0]}), "ground-truth triggers"),
        (lambda row: json.dumps({**row, "image": "nowhere.png"}), "no basic sample"),
        (lambda row: json.dumps({**row, "labels": [2] * len(row["labels"])}), "labels"),
        (lambda row: json.dumps({**row, "denied": [1], "labels": [1] * len(row["labels"])}),
         "denied trigger 1"),
    ],
)  # fmt: skip
def test_a_bad_line_is_one_line_naming_file_and_line(
    tmp_path: Path, release_dir: Path, edit, problem: str
) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join([LINES[0], edit(json.loads(LINES[1]))]) + "\n")
    with pytest.raises(DataError) as caught:
        load_labelled(path, release_dir)
    message = str(caught.value)
    assert f"{path}:2" in message and problem in message and "\n" not in message


def test_style_agreement_counts_denied_mentions_kept(release_dir: Path) -> None:
    rows = [r for r in load_labelled(LABELS, release_dir) if r.row.denied][:5]
    perfect = style_agreement(rows, [[bool(x) for x in r.row.labels] for r in rows])
    assert perfect.overall.kappa == pytest.approx(1.0) and perfect.denied_kept == perfect.denied
    everything = style_agreement(rows, [[True] * len(r.row.labels) for r in rows])
    assert everything.denied_kept == 0 and everything.overall.accuracy < 1
    assert set(everything.styles) == {r.row.style for r in rows}


def test_calibrate_labels_prints_each_offline_judge_per_style(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    subset = tmp_path / "mine.jsonl"
    subset.write_text("\n".join(LINES[:40]) + "\n")
    result = invoke(capsys, "judge", "calibrate", "--labels", str(subset), "--data",
                    str(release_dir))  # fmt: skip
    assert result.code == 0, result.err
    assert default_model().version in result.out and "word-recall judge" in result.out
    styles = {json.loads(line)["style"] for line in LINES[:40]}
    for style in styles:
        assert len(re.findall(rf"│ {style}\s+│", result.out)) == 2  # a row in each judge's table
    assert len(re.findall(r"\d\.\d{3} \[-?\d\.\d{3}, \d\.\d{3}\]", result.out)) >= 6
    assert "denied or other-person mentions not counted" in result.out
    assert result.out.count("Brier") == 1  # the learned judge's P(covered); word recall has none


def test_reliability_of_probabilities() -> None:
    labels = [True, False, True, True, False, False, True, False]
    perfect = reliability([float(x) for x in labels], labels)
    assert perfect.brier == 0 and perfect.ece == 0 and perfect.base_brier == pytest.approx(0.25)
    assert [(b[0], b[2]) for b in perfect.bins] == [(0.0, 4), (0.9, 4)]
    base = reliability([0.5] * len(labels), labels)
    assert base.brier == pytest.approx(base.base_brier) and base.ece == pytest.approx(0)
    wrong = reliability([0.95 if not x else 0.05 for x in labels], labels)
    assert wrong.brier > 0.9 and wrong.ece == pytest.approx(0.95)
    assert sum(b[2] for b in wrong.bins) == len(labels)


@pytest.mark.parametrize("args", [[], ["--audit", "a", "--labels", str(LABELS)]])
def test_calibrate_takes_one_of_audit_and_labels(capsys, args: list[str]) -> None:
    result = invoke(capsys, "judge", "calibrate", *args)
    assert result.code == 2 and "one of --audit NAME and --labels FILE" in result.err
    assert len(result.err.strip().splitlines()) == 1
