"""The paper judges' `{score: correct/total}` reader on real-world replies, and fuzzed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eibench.judges.paper import parse_reply, parse_score
from eibench.records.verdict import JudgeParseError

READABLE = [
    ("{score: 2/5}", (2, 5)),
    ("{Score: 3 / 5}", (3, 5)),
    ("{SCORE:4/4}", (4, 4)),
    ("My assessment: {score: 1/6}. The record identifies one trigger.", (1, 6)),
    ("**{score: 3/5}**", (3, 5)),
    ("{**score**: 3/5}", (3, 5)),
    ("`{score: 2/3}`", (2, 3)),
    ("{ score : 0 / 4 }", (0, 4)),
    ("{score = 2/4}", (2, 4)),
    ("{score: 3 out of 5}", (3, 5)),
    ("{score: **2**/**5**}", (2, 5)),
    ("For example {score: 2/5}... Final: {score: 4/5}", (4, 5)),  # the last wins
    ("Score: 3/7\nThe record misses the cake.", (3, 7)),  # no braces
    ("### Your Assessment\n\n- Score: **3/5**", (3, 5)),
    ("{score: 6/5}", (6, 5)),  # over its own total: kept, capped at scoring
    ("{score: 10/10}", (10, 10)),
]
UNREADABLE = [
    "",
    "I cannot assess this record.",
    "The record identified 3 of the 5 triggers.",
    "{score: correct/total}",
    "{score: 2/0}",
    "{score: -1/5}",
    "{score: 2.5/5}",
    "scores 2/5",
]


@pytest.mark.parametrize(("reply", "expected"), READABLE)
def test_readable_replies(reply: str, expected: tuple[int, int]) -> None:
    assert parse_score(reply) == expected


@pytest.mark.parametrize("reply", UNREADABLE)
def test_unreadable_replies_raise_a_parse_error(reply: str) -> None:
    with pytest.raises(JudgeParseError):
        parse_score(reply)


def test_recall_uses_the_ground_truth_count_and_keeps_the_judges_total() -> None:
    verdict = parse_reply("{score: 2/3}", 5)
    assert (verdict.correct, verdict.total, verdict.judge_total) == (2, 5, 3)
    assert verdict.recall == pytest.approx(0.4)
    assert parse_reply("{score: 9/3}", 4).recall == 1.0  # never above 1


@given(st.text(max_size=300))
def test_any_text_is_read_or_rejected_cleanly(text: str) -> None:
    try:
        correct, total = parse_score(text)
    except JudgeParseError:
        return
    assert correct >= 0 and total > 0


@given(
    st.text(max_size=80),
    st.integers(0, 30),
    st.integers(1, 30),
    st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=80),
)
def test_an_embedded_score_is_found_whatever_surrounds_it(
    before: str, correct: int, total: int, after: str
) -> None:
    reply = f"{before}\n{{score: {correct}/{total}}}\n{after}"
    if "score" in after.lower():
        return  # a later score-like text would rightly win
    assert parse_score(reply) == (correct, total)
