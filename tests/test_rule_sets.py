"""Scoring rule sets on a hand-made file of judge records in the release's format: the means
under `release` and `honest` are worked out here from the rules, line by line, not by calling
the code under test. The release figures were also checked against the release's own
`EI_Basic/get_scores.py` on the same file (see `release_prints`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eibench.data import load_split
from eibench.data.schema import Sample
from eibench.metrics.rules import RULE_SETS, release_value, stale_scores
from tests.cli import invoke

# (category, index within the category, the judge's reply), in file order
LINES = [
    ("happy", 0, "Good. {score: 2/4}"),
    ("happy", 1, "{Score: 3/4}"),  # capital S: no strict match
    ("angry", 0, "{score: 1/2} first, then revised: {score: 2/2}"),  # first vs last match
    ("happy", 2, "{score: 3 / 5}"),  # spaces around the slash: no strict match
    ("sad", 0, "{score: 6/4}"),  # c > t
    ("angry", 1, "I cannot assess this."),
    ("excited", 0, "{score: 0/3}"),
    ("sad", 1, "**{score: 2/3}**"),
    ("happy", 3, "{score: 1/3}"),
    ("excited", 1, "{score:2/5}"),  # no space after the colon: no strict match
    ("angry", 2, "{score: 3/3}"),
    ("sad", 2, "score: 1/2"),  # no braces: no strict match
    ("excited", 2, "{score: 4/5}"),
]

# release: the first strict match, c / t. Unmatched lines get the last matched value before
# them in file order, in their category only:
#   Happy   h0 2/4, h1 stale h0 (1/2), h2 stale a0 (1/2, first match), h3 1/3
#   Angry   a0 1/2, a1 stale s0 (6/4), a2 3/3
#   Sadness s0 6/4, s1 2/3, s2 stale a2 (1)
#   Excited e0 0, e1 stale h3 (1/3), e2 4/5
#   Overall the 8 matched lines: 1/2 + 1/2 + 6/4 + 0 + 2/3 + 1/3 + 1 + 4/5 = 5.3
RELEASE = {
    "Happy": (1 / 2 + 1 / 2 + 1 / 2 + 1 / 3) / 4,
    "Angry": (1 / 2 + 6 / 4 + 1) / 3,
    "Sadness": (6 / 4 + 2 / 3 + 1) / 3,
    "Excitement": (0 + 1 / 3 + 4 / 5) / 3,
    "Overall": 5.3 / 8,
}
# what get_scores.py printed for this file (run once by hand on it)
RELEASE_PRINTS = {
    "Happy": "0.45833",
    "Angry": "1.00000",
    "Sadness": "1.05556",
    "Excitement": "0.37778",
    "Overall": "0.66250",
}
# honest: the last tolerant match c, capped by the ground-truth count n, over n; the
# unreadable line (a1) is left out
HONEST_C = {
    ("happy", 0): 2, ("happy", 1): 3, ("happy", 2): 3, ("happy", 3): 1,
    ("angry", 0): 2, ("angry", 2): 3,
    ("sad", 0): 6, ("sad", 1): 2, ("sad", 2): 1,
    ("excited", 0): 0, ("excited", 1): 2, ("excited", 2): 4,
}  # fmt: skip
LABELS = {"happy": "Happy", "angry": "Angry", "sad": "Sadness", "excited": "Excitement"}


def _samples(release_dir: Path) -> dict[tuple[str, int], Sample]:
    samples = load_split(release_dir, "basic").samples
    return {
        (emotion, i): s
        for emotion in LABELS
        for i, s in enumerate([s for s in samples if s.emotion == emotion][:4])
    }


def _file(release_dir: Path, tmp_path: Path) -> Path:
    samples = _samples(release_dir)
    path = tmp_path / "judged.jsonl"
    rows = [json.dumps({samples[(e, i)].image: reply}) for e, i, reply in LINES]
    path.write_text("\n".join(rows) + "\n")
    return path


def _rows(capsys, path: Path, release_dir: Path, *args: str) -> dict[str, dict]:
    result = invoke(capsys, "score", "--legacy-file", str(path), "--data", str(release_dir),
                    "--json", *args)  # fmt: skip
    assert result.code == 0, result.err
    return {r["label"]: r for r in json.loads(result.out)["rows"]}


def test_release_rules_give_the_release_scripts_numbers(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    path = _file(release_dir, tmp_path)
    rows = _rows(capsys, path, release_dir, "--rules", "release")
    for label, expected in RELEASE.items():
        assert rows[label]["recall"]["estimate"] == pytest.approx(expected, abs=1e-12), label
        assert f"{rows[label]['recall']['estimate']:.5f}" == RELEASE_PRINTS[label]
    assert [rows[c]["n_stale"] for c in LABELS.values()] == [2, 1, 1, 1]
    assert rows["Overall"]["n_scored"] == 8 and rows["Overall"]["n_stale"] == 0
    assert rows["Sadness"]["n_over_total"] == 1
    table = invoke(capsys, "score", "--legacy-file", str(path), "--data", str(release_dir),
                   "--rules", "release")  # fmt: skip
    for label, printed in RELEASE_PRINTS.items():
        assert printed in next(line for line in table.out.splitlines() if label in line)


def test_honest_rules_read_tolerantly_over_the_ground_truth_count(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    samples = _samples(release_dir)
    path = _file(release_dir, tmp_path)
    rows = _rows(capsys, path, release_dir)
    values: dict[str, list[float]] = {}
    for (emotion, i), c in HONEST_C.items():
        n = len(samples[(emotion, i)].triggers)
        values.setdefault(LABELS[emotion], []).append(min(c, n) / n)
    values["Overall"] = [v for label in LABELS.values() for v in values[label]]
    for label, found in values.items():
        assert rows[label]["recall"]["estimate"] == pytest.approx(sum(found) / len(found))
    assert rows["Angry"]["n_unparsed"] == 1 and rows["Angry"]["n_scored"] == 2
    assert all(r["n_stale"] == 0 for r in rows.values())
    # the honest adjustments apply to files too: the judge's total, and unreadable as 0
    judge_total = _rows(capsys, path, release_dir, "--denominator", "judge")
    assert judge_total["Angry"]["recall"]["estimate"] == pytest.approx((2 / 2 + 3 / 3) / 2)
    zero = _rows(capsys, path, release_dir, "--unparsed-as-zero")
    n_a0, n_a2 = (len(samples[("angry", i)].triggers) for i in (0, 2))
    expected = (min(2, n_a0) / n_a0 + 0 + min(3, n_a2) / n_a2) / 3
    assert zero["Angry"]["recall"]["estimate"] == pytest.approx(expected)


def test_release_rules_refuse_the_honest_adjustments(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    path = _file(release_dir, tmp_path)
    for flag in (["--unparsed-as-zero"], ["--denominator", "judge"]):
        result = invoke(capsys, "score", "--legacy-file", str(path), "--data", str(release_dir),
                        "--rules", "release", *flag)  # fmt: skip
        assert result.code != 0 and flag[0] in result.err and "--rules release" in result.err
        assert len(result.err.strip().splitlines()) == 1


def test_list_rules_names_every_rule(capsys) -> None:
    result = invoke(capsys, "score", "--list-rules")
    assert result.code == 0
    for rule_set in RULE_SETS.values():
        assert rule_set.name in result.out
    assert "stale score" in result.out and "{score: 0/1}" in result.out


def test_release_reading_edge_cases() -> None:
    assert release_value("{score: 2/0}") is None  # the release's script stopped here
    assert release_value("{score: 2/4} {score: 4/4}") == 0.5
    # the LLaMA-3 judge script's fallback: no "{score: " in any case becomes {score: 0/1}
    assert release_value("I cannot tell.", llama_fallback=True) == 0.0
    assert release_value("{SCORE: 3/4}", llama_fallback=True) is None  # kept, then unmatched
    assert release_value("{score:3/4}", llama_fallback=True) == 0.0  # no space: replaced
    assert release_value(None, llama_fallback=True) is None
    # stale: only lined items, never before the first value, across categories
    order = ["a", "b", "c", "d", "e"]
    assert stale_scores(order, {"b": 0.5, "d": 1.0}, ["a", "b", "c", "d", "e"]) == {
        "c": 0.5,
        "e": 1.0,
    }
    assert stale_scores(order, {"b": 0.5}, ["b"]) == {}


# A run judged by paper-llama3 through the real CLI and a loopback judge: two answers of each
# category, in the split's order (Angry, Happy, Excitement, Sadness), each with a scripted
# reply. The release's values, worked out by hand from its rules:
#   a0 first strict 2/6            a1 "{Score:" kept, unmatched: stale a0 (2/6)
#   h0 no "{score: ": 0/1 -> 0     h1 6/5 (over 1, kept)
#   e0 "{score:3/7}": 0/1 -> 0     e1 2/4
#   s0 "3 / 5" unmatched: stale e1 s1 1/4
RUN_REPLIES = {
    ("angry", 0): "{score: 2/6} at first, but on reflection {score: 3/6}",
    ("angry", 1): "{Score: 4/5}",
    ("happy", 0): "I cannot assess this record.",
    ("happy", 1): "{score: 6/5}",
    ("excited", 0): "{score:3/7}",
    ("excited", 1): "{score: 2/4}",
    ("sad", 0): "{score: 3 / 5}",
    ("sad", 1): "{score: 1/4}",
}
RUN_RELEASE = {
    "Angry": (2 / 6 + 2 / 6) / 2,
    "Happy": (0 + 6 / 5) / 2,
    "Excitement": (0 + 2 / 4) / 2,
    "Sadness": (2 / 4 + 1 / 4) / 2,
    "Overall": (2 / 6 + 0 + 6 / 5 + 0 + 2 / 4 + 1 / 4) / 6,
}
# honest: the last tolerant match, capped by n, over n; h0 is unread and left out
RUN_HONEST_C = {("angry", 0): 3, ("angry", 1): 4, ("happy", 1): 6, ("excited", 0): 3,
                ("excited", 1): 2, ("sad", 0): 3, ("sad", 1): 1}  # fmt: skip


@pytest.fixture
def judged_run(capsys, release_dir: Path, tmp_path: Path, monkeypatch) -> Path:
    from tests.fake_server import Behaviour, FakeServer, all_text

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("EIBENCH_CONFIG", str(tmp_path / "absent.toml"))
    samples = load_split(release_dir, "basic").samples
    chosen = {
        (emotion, i): s
        for emotion in ("angry", "happy", "excited", "sad")
        for i, s in enumerate([s for s in samples if s.emotion == emotion][:2])
    }
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({s.image: f"Because of the scene. ANS-{e}-{i}."}) + "\n"
                               for (e, i), s in chosen.items()))  # fmt: skip
    ws = tmp_path / "ws"
    common = ("--data", str(release_dir), "--workspace", str(ws))
    result = invoke(capsys, "import", str(answers), "--run", "r", "--model", "m", "--split",
                    "basic", *common)  # fmt: skip
    assert result.code == 0, result.err

    def reply(body) -> str:
        text = all_text(body)
        return next(r for (e, i), r in RUN_REPLIES.items() if f"ANS-{e}-{i}." in text)

    with FakeServer(Behaviour(reply=reply)) as server:
        result = invoke(capsys, "judge", "--run", "r", "--protocol", "paper-llama3", "--judge",
                        "openai:j", "--judge-base-url", server.openai_url, "--timeout", "5",
                        *common)  # fmt: skip
    assert result.code == 1, result.err  # h0 stays unread after its asks
    return ws


def _run_rows(capsys, release_dir: Path, ws: Path, *args: str) -> dict[str, dict]:
    result = invoke(capsys, "score", "--run", "r", "--data", str(release_dir), "--workspace",
                    str(ws), "--json", *args)  # fmt: skip
    assert result.code == 0, result.err
    score = json.loads(result.out)["scores"][0]
    return {r["label"]: r | {"rules": score["policy"]["rules"]} for r in score["rows"]}


def test_release_rules_on_a_judged_run(capsys, release_dir: Path, judged_run: Path) -> None:
    rows = _run_rows(capsys, release_dir, judged_run, "--rules", "release")
    for label, expected in RUN_RELEASE.items():
        assert rows[label]["recall"]["estimate"] == pytest.approx(expected), label
        assert rows[label]["rules"] == "release"
    assert [rows[c]["n_stale"] for c in ("Angry", "Happy", "Excitement", "Sadness")] == [1, 0, 0, 1]
    assert rows["Overall"]["n_scored"] == 6 and rows["Overall"]["n_stale"] == 0
    samples = load_split(release_dir, "basic").samples
    n = {(e, i): len(s.triggers) for e in LABELS
         for i, s in enumerate([s for s in samples if s.emotion == e][:2])}  # fmt: skip
    honest = _run_rows(capsys, release_dir, judged_run)
    values = [min(c, n[k]) / n[k] for k, c in RUN_HONEST_C.items()]
    assert honest["Overall"]["recall"]["estimate"] == pytest.approx(sum(values) / len(values))
    assert honest["Overall"]["n_judge_failed"] == 1 and honest["Happy"]["n_scored"] == 1


def test_the_ledger_shows_each_release_rules_move(
    capsys, release_dir: Path, judged_run: Path
) -> None:
    common = ("--data", str(release_dir), "--workspace", str(judged_run))
    result = invoke(capsys, "report", "--rules-diff", "--format", "json", *common)
    assert result.code == 0, result.err
    cells = {r["category"]: r for r in json.loads(result.out)}
    for label, cell in cells.items():
        assert cell["release"] == pytest.approx(RUN_RELEASE[label])
        assert cell["honest"] + sum(cell["moves"].values()) == pytest.approx(cell["release"])
    # Happy: first-strict alone keeps only h1 (6/5); the 0/1 fallback adds h0's 0
    assert cells["Happy"]["moves"]["llama-fallback"] == pytest.approx((0 + 6 / 5) / 2 - 6 / 5)
    # stale scores count in the category means only
    assert cells["Overall"]["moves"]["stale"] == 0
    assert cells["Sadness"]["moves"]["stale"] == pytest.approx(RUN_RELEASE["Sadness"] - 1 / 4)
    table = invoke(capsys, "report", "--rules-diff", *common)
    assert table.code == 0 and "-60.00" in table.out and "first-strict" in table.err


def test_report_with_paper_scores_measured_cells_under_the_release_rules(
    capsys, release_dir: Path, judged_run: Path
) -> None:
    common = ("--data", str(release_dir), "--workspace", str(judged_run), "--format", "json")
    shown = json.loads(invoke(capsys, "report", "--with-paper", *common).out)
    cells = shown["cells"]
    measured = {c["category"]: c for c in cells if not c["published"]}
    note = shown["tables"][0]["note"]
    assert "under the release rules" in note and "not the release's" in note
    assert {c["rules"] for c in measured.values()} == {"release"}
    assert measured["Overall"]["estimate"] == pytest.approx(RUN_RELEASE["Overall"])
    honest = json.loads(invoke(capsys, "report", *common).out)["cells"]
    assert {c["rules"] for c in honest} == {"honest"}


def test_a_file_line_that_names_no_sample_is_one_line(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nope.png": "{score: 1/2}"}\n')
    for rules in RULE_SETS:
        failed = invoke(capsys, "score", "--legacy-file", str(bad), "--data", str(release_dir),
                        "--rules", rules)  # fmt: skip
        assert failed.code == 2 and "bad.jsonl:1:" in failed.err and "nope.png" in failed.err
        assert len(failed.err.strip().splitlines()) == 1


def test_flags_that_cannot_apply_to_a_legacy_file_are_refused(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    path = _file(release_dir, tmp_path)
    for flag in (["--run", "r"], ["--protocol", "paper-llama3"], ["--combine", "mean"]):
        result = invoke(capsys, "score", "--legacy-file", str(path), "--data", str(release_dir),
                        *flag)  # fmt: skip
        assert result.code == 2 and flag[0] in result.err and "--legacy-file" in result.err
        assert len(result.err.strip().splitlines()) == 1


def test_release_rules_on_a_complex_file_give_get_scores_complex_numbers(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    samples = load_split(release_dir, "complex").samples
    replies = ["{score: 2/4}", "nothing", "{score: 1/2} {score: 2/2}", "{score: 5/4}",
               "{Score: 1/3}", "{score: 0/3}"]  # fmt: skip
    path = tmp_path / "complex.jsonl"
    lines = [json.dumps({s.image: r}) + "\n" for s, r in zip(samples[:6], replies, strict=True)]
    path.write_text("".join(lines))
    # matched: 2/4, 1/2 (first), 5/4, 0/3; no categories, so no stale scores.
    # get_scores_complex.py printed "average Score: 0.56250" for this file (run by hand).
    result = invoke(capsys, "score", "--legacy-file", str(path), "--split", "complex",
                    "--data", str(release_dir), "--rules", "release", "--json")  # fmt: skip
    assert result.code == 0, result.err
    (overall,) = json.loads(result.out)["rows"]
    assert overall["recall"]["estimate"] == pytest.approx((2 / 4 + 1 / 2 + 5 / 4 + 0) / 4)
    assert f"{overall['recall']['estimate']:.5f}" == "0.56250"
    assert overall["n_unparsed"] == 2 and overall["n_missing"] == len(samples) - 6
    # without --split, the file's image keys say which split it is
    found = invoke(capsys, "score", "--legacy-file", str(path), "--data", str(release_dir),
                   "--rules", "release", "--json")  # fmt: skip
    assert json.loads(found.out)["rows"] == json.loads(result.out)["rows"]
