"""`eibench judge --labels FILE`: any judge (here a model judge on a real loopback server) judges
a labelled set's answers, kept as runs of the store, and its agreement with the labels is
printed per answer style; a rerun judges nothing again."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eibench.review.calibration import calibrate_counts, reliability
from eibench.review.labelled import load_labelled, style_agreement
from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer, request_text
from tests.judge_labels import LABELS
from tests.test_judge_llm import _entail_hook, _no_keys  # noqa: F401 (an autouse fixture)

LINES = LABELS.read_text(encoding="utf-8").splitlines()
# two answers to one basic sample (rows 10 and 271) and to one complex sample (210, 211)
PICKED = [LINES[i] for i in (*range(8), 10, 271, 210, 211)]


@pytest.fixture
def subset(tmp_path: Path) -> Path:
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(PICKED) + "\n")
    return path


def judge(capsys, server: FakeServer, release_dir: Path, tmp_path: Path, *args: str) -> Any:
    return invoke(
        capsys, "judge", "--judge", "openai:j", "--judge-base-url", server.openai_url,
        "--data", str(release_dir), "--workspace", str(tmp_path / "ws"), "--timeout", "5", *args,
    )  # fmt: skip


def all_row(out: str) -> list[str]:
    """The cells of the agreement table's `all` row."""
    row = next(line for line in out.splitlines() if re.match(r"│ all\s+│", line))
    return [cell.strip() for cell in row.strip("│").split("│")]


def test_a_model_judge_is_measured_on_a_labelled_set_and_resumes(
    capsys, subset: Path, release_dir: Path, tmp_path: Path
) -> None:
    rows = load_labelled(subset, release_dir)
    with FakeServer(Behaviour()) as server:
        server.behaviour.hook = _entail_hook(logprobs=True)  # yes for even-length triggers
        first = judge(capsys, server, release_dir, tmp_path, "--labels", str(subset),
                      "--protocol", "entail")  # fmt: skip
        assert first.code == 0, first.err
        asked = server.count
        again = judge(capsys, server, release_dir, tmp_path, "--labels", str(subset),
                      "--protocol", "entail")  # fmt: skip
        assert again.code == 0 and server.count == asked  # everything already judged
    assert asked == sum(len(r.triggers) for r in rows)  # a question per answer and trigger
    expected = style_agreement(rows, [[len(t.strip()) % 2 == 0 for t in r.triggers] for r in rows])
    p_yes = [0.9 if len(t.strip()) % 2 == 0 else 0.2 for r in rows for t in r.triggers]
    labels = [bool(x) for r in rows for x in r.row.labels]
    brier = reliability(p_yes, labels).brier
    for result in (first, again):
        cells = all_row(result.out)
        assert cells[1:3] == [str(len(rows)), str(sum(len(r.triggers) for r in rows))]
        assert cells[3].startswith(f"{expected.overall.kappa:.3f} [")
        assert cells[4].startswith(f"{expected.overall.accuracy:.3f} [")
        assert "openai:j (entail) vs" in result.out
        assert f"Brier {brier:.3f}" in result.out  # entail's P(yes) are probabilities
    db = sqlite3.connect(tmp_path / "ws" / "eibench.sqlite")
    runs = {name for (name,) in db.execute("SELECT name FROM runs")}
    assert {re.sub(r"^labels-mine-test\+tune-[0-9a-f]{8}-", "", run) for run in runs} == {
        "basic-1",
        "basic-2",
        "complex-1",
        "complex-2",
    }  # a sample's second answer is in a run of its own
    counts = re.findall(r": ([\d,]+) judged now, ([\d,]+) already", again.err)  # a line per run
    assert len(counts) == 4 and {now for now, _ in counts} == {"0"}
    assert sum(int(done) for _, done in counts) == len(rows)
    report = invoke(capsys, "report", "--workspace", str(tmp_path / "ws"), "--data",
                    str(release_dir), "--out", str(tmp_path / "r.html"))  # fmt: skip
    assert report.code == 2 and "no judged runs to report" in report.err  # labelled runs left out


def test_a_count_judge_gets_recall_error_only_and_unjudged_answers_are_left_out(
    capsys, subset: Path, release_dir: Path, tmp_path: Path
) -> None:
    rows = load_labelled(subset, release_dir)
    marker = rows[0].row.answer[:60]

    def reply(body: Any) -> str:
        return "I cannot tell." if marker in request_text(body) else "{score: 1/4}"

    with FakeServer(Behaviour(reply=reply)) as server:
        result = judge(capsys, server, release_dir, tmp_path, "--labels", str(subset),
                       "--protocol", "paper-llama3", "--max-asks", "1")  # fmt: skip
    assert result.code == 1  # one answer could not be judged
    cells = all_row(result.out)
    assert cells[1] == str(len(rows) - 1) and cells[3:5] == ["-", "-"]
    human = {str(i): [bool(x) for x in r.row.labels] for i, r in enumerate(rows[1:])}
    counts = calibrate_counts(human, {i: 1 / len(h) for i, h in human.items()})
    assert cells[5].startswith(f"{counts.mean_abs_recall_diff:.3f} ["), (cells, result.out)
    assert "1 answer(s) have no verdict" in result.out and "Brier" not in result.out


@pytest.mark.parametrize("args", [[], ["--run", "r", "--labels", str(LABELS)]])
def test_judge_takes_one_of_run_and_labels(capsys, args: list[str]) -> None:
    result = invoke(capsys, "judge", *args)
    assert result.code == 2 and "--run NAME, or --labels FILE" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_an_empty_fold_is_one_line(capsys, subset: Path, release_dir: Path) -> None:
    result = invoke(capsys, "judge", "--labels", str(subset), "--fold", "nope",
                    "--data", str(release_dir))  # fmt: skip
    assert result.code == 2 and f"{subset}: no labelled answers in fold 'nope'" in result.err
