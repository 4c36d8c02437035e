"""CFSA stages: message builders, templates and reply parsers."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from eibench.cfsa import stages as st
from eibench.data.triggers import parse_triggers
from eibench.models.base import ImagePart, Message, TextPart
from eibench.settings import prompts

IMAGE = ImagePart(media_type="image/png", data=b"\x89PNG fake")
QUESTION = "What might have caused the man {in the red cap} to feel angry?"
EMOTION = "anger"
RECON = "What might have caused the man in the red cap, shouting at a referee, to feel angry?"
GENERAL_QA = [("How many people are in the image?", "Two: a man and a referee.")]
SCENARIO_QA = [("What is the referee holding?", "A yellow card.")]

Builder = Callable[[ImagePart | None], list[Message]]

# Each VLM builder, with the inputs that must reach the prompt verbatim.
VLM_BUILDERS: dict[str, tuple[Builder, list[str]]] = {
    "reconstruct": (lambda im: st.reconstruct_messages(QUESTION, EMOTION, im), [QUESTION, EMOTION]),
    "general": (
        lambda im: st.general_messages(st.GENERAL_QUESTIONS[2], QUESTION, im),
        [st.GENERAL_QUESTIONS[2], QUESTION],
    ),
    "scenario_questions": (
        lambda im: st.scenario_questions_messages(
            QUESTION, RECON, GENERAL_QA, 4, im, asked=["Who is he shouting at?"]
        ),
        [QUESTION, RECON, *GENERAL_QA[0], "Who is he shouting at?", "up to 4 new"],
    ),
    "scenario_answer": (
        lambda im: st.scenario_answer_messages("What is the referee holding?", QUESTION, RECON, im),
        ["What is the referee holding?", QUESTION, RECON],
    ),
    "verify": (
        lambda im: st.verify_messages("Yellow card shown by the referee.", QUESTION, im),
        ["Yellow card shown by the referee.", QUESTION],
    ),
    "mine": (lambda im: st.mine_messages(im, 7), ["Propose 7 open questions"]),
}

LLM_BUILDERS: dict[str, tuple[Callable[[], list[Message]], list[str]]] = {
    "enrich_question": (lambda: st.enrich_question_messages(QUESTION, EMOTION), [QUESTION]),
    "generate_question": (lambda: st.generate_question_messages("sadness"), ["sadness"]),
    "summary": (
        lambda: st.summary_messages(QUESTION, EMOTION, RECON, GENERAL_QA, SCENARIO_QA),
        [QUESTION, EMOTION, RECON, *GENERAL_QA[0], *SCENARIO_QA[0]],
    ),
}


def _user(messages: list[Message]) -> Message:
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].plain_text().strip()
    return messages[1]


@pytest.mark.parametrize("name", sorted(VLM_BUILDERS))
def test_vlm_builders_put_the_image_first_and_the_inputs_verbatim(name: str) -> None:
    build, inputs = VLM_BUILDERS[name]
    user = _user(build(IMAGE))
    assert user.content[0] == IMAGE
    assert isinstance(user.content[1], TextPart) and len(user.content) == 2
    for value in inputs:
        assert value in user.plain_text()
    assert "No image is attached" not in user.plain_text()


@pytest.mark.parametrize("name", sorted(VLM_BUILDERS))
def test_vlm_builders_without_an_image_are_text_only_and_say_so(name: str) -> None:
    build, inputs = VLM_BUILDERS[name]
    user = _user(build(None))
    assert user.images() == []
    assert user.plain_text().startswith("No image is attached")
    for value in inputs:
        assert value in user.plain_text()


@pytest.mark.parametrize("name", sorted(LLM_BUILDERS))
def test_llm_builders_are_text_only_with_the_inputs_verbatim(name: str) -> None:
    build, inputs = LLM_BUILDERS[name]
    user = _user(build())
    assert user.images() == []
    for value in inputs:
        assert value in user.plain_text()


def test_empty_question_and_answer_lists_are_shown_as_none() -> None:
    text = st.scenario_questions_messages(QUESTION, RECON, [], 3, None)[1].plain_text()
    assert text.count("(none)") == 2
    summary = st.summary_messages(QUESTION, EMOTION, RECON, GENERAL_QA, [])[1].plain_text()
    assert "(none)" in summary and "Q: How many people" in summary


def test_question_counts_below_one_are_refused() -> None:
    with pytest.raises(ValueError):
        st.scenario_questions_messages(QUESTION, RECON, GENERAL_QA, 0, IMAGE)
    with pytest.raises(ValueError):
        st.mine_messages(IMAGE, 0)


def test_general_questions_are_the_papers_four_topics_as_questions() -> None:
    topics = ["how many people", "activities", "facial expressions", "body language"]
    assert len(st.GENERAL_QUESTIONS) == 4
    for question, topic in zip(st.GENERAL_QUESTIONS, topics, strict=True):
        assert topic in question.lower() and question.endswith("?")
    assert "posture" in st.GENERAL_QUESTIONS[3] and "interact" in st.GENERAL_QUESTIONS[1]


def test_every_template_exists_and_uses_only_the_fields_its_builder_gives() -> None:
    fields = {
        "cfsa/system": set(),
        "cfsa/no_image": set(),
        "cfsa/enrich_question": {"question", "emotion"},
        "cfsa/generate_question": {"emotion"},
        "cfsa/reconstruct": {"question", "emotion"},
        "cfsa/general": {"general_question", "question"},
        "cfsa/scenario_questions": {"question", "reconstruction", "general_qa", "asked", "n"},
        "cfsa/scenario_answer": {"scenario_question", "question", "reconstruction"},
        "cfsa/summary": {"question", "emotion", "reconstruction", "general_qa", "scenario_qa"},
        "cfsa/verify": {"trigger", "question"},
        "cfsa/mine": {"n"},
    }
    assert set(st.TEMPLATES) == set(fields)
    for name in st.TEMPLATES:
        used = {f for _, f, _, _ in string.Formatter().parse(prompts.template(name)) if f}
        assert used == fields[name], name
        rendered = prompts.render(name, **{f: "X" for f in fields[name]})
        assert rendered.strip() and "{" not in rendered


def test_prompt_version_hashes_every_template(monkeypatch: pytest.MonkeyPatch) -> None:
    before = st.prompt_version()
    assert before == prompts.version(*st.TEMPLATES) and re.fullmatch(r"[0-9a-f]{12}", before)
    original = prompts.template
    for name in st.TEMPLATES:

        def edited(n: str, _target: str = name) -> str:
            return original(n) + (" edited" if n == _target else "")

        monkeypatch.setattr(prompts, "template", edited)
        assert st.prompt_version() != before, name
    monkeypatch.setattr(prompts, "template", original)
    assert st.prompt_version() == before


# --- parse_question ---------------------------------------------------------------------------

QUESTION_REPLIES = [
    (
        "What might have caused the woman to feel sad?",
        "What might have caused the woman to feel sad?",
    ),
    ('"What made the boy so excited?"', "What made the boy so excited?"),
    ("Enriched question: What made the man angry?", "What made the man angry?"),
    ("**Question:** Why does the girl look upset?", "Why does the girl look upset?"),
    (
        "Sure! Here is the enriched question:\n\nWhat might have caused the man on the left\n"
        "to feel angry?\n\nThis keeps the details of the original.",
        "What might have caused the man on the left to feel angry?",
    ),
    (
        "The woman stands at a bus stop. What might have caused her to feel sad?",
        "What might have caused her to feel sad?",
    ),
    (
        "What might have caused the man to feel angry",
        "What might have caused the man to feel angry?",
    ),
    ("Could the rain explain her sadness.", "Could the rain explain her sadness?"),
    ("<think>Who is it?</think>\nWhat excites the crowd?", "What excites the crowd?"),
    ("```\nWhat made him angry?\n```", "What made him angry?"),
    ("1. What is he holding?\n2. Where is he?", "What is he holding?"),
    (
        "What caused the excitement of the man holding a sign that says 'Sale'?",
        "What caused the excitement of the man holding a sign that says 'Sale'?",
    ),
    ("'What caused the woman's anger?'", "What caused the woman's anger?"),
    ("What made the man in the image angry?'", "What made the man in the image angry?"),
]


@pytest.mark.parametrize(("reply", "expected"), QUESTION_REPLIES)
def test_parse_question_keeps_one_clean_question(reply: str, expected: str) -> None:
    assert st.parse_question(reply) == expected


@pytest.mark.parametrize(
    "reply",
    ["", "   \n", "<think>still thinking", "I'm sorry, I can't help with that.", "**Question:**"],
)
def test_parse_question_refuses_replies_without_a_question(reply: str) -> None:
    with pytest.raises(ValueError):
        st.parse_question(reply)


def test_parse_question_keeps_the_release_questions() -> None:
    questions = [
        "What might have caused the man sitting in the image to look annoyed?",
        "What led to the woman's delight in this image?",
    ]
    for question in questions:
        assert st.parse_question(question) == question


# --- parse_questions --------------------------------------------------------------------------

QUESTIONS_REPLIES = [
    (
        "1. What is he holding?\n2. Who is he looking at?",
        5,
        ["What is he holding?", "Who is he looking at?"],
    ),
    ("1) Where is she?\n2) Why is she alone?", 5, ["Where is she?", "Why is she alone?"]),
    (
        "- Where is she?\n* What is she wearing?\n• Is it raining?",
        5,
        ["Where is she?", "What is she wearing?", "Is it raining?"],
    ),
    (
        "Here are some questions:\n\n1. **What is on the table?**\n2. **Who else is there?**\n\n"
        "Note: these questions focus on the scene.",
        5,
        ["What is on the table?", "Who else is there?"],
    ),
    (
        "1. What is he holding?\n2. what is he  holding?\n3. Is he alone?",
        5,
        ["What is he holding?", "Is he alone?"],
    ),
    ("1. A?\n2. B?\n3. C?\n4. D?", 2, ["A?", "B?"]),
    (
        "Q1: What time of day is it?\nQ2: What is the weather like?",
        5,
        ["What time of day is it?", "What is the weather like?"],
    ),
    (
        "1. What is the man doing\n   with his hands?\n2. Describe the room.",
        5,
        ["What is the man doing with his hands?"],
    ),
    ("What is he holding?\nWhere is he?", 5, ["What is he holding?", "Where is he?"]),
    ("", 3, []),
    ("I cannot see any people in this image.", 3, []),
    ("1. What is he holding?", 0, []),
]


@pytest.mark.parametrize(("reply", "n", "expected"), QUESTIONS_REPLIES)
def test_parse_questions_reads_lists_of_distinct_questions(
    reply: str, n: int, expected: list[str]
) -> None:
    assert st.parse_questions(reply, n) == expected


# --- parse_summary ----------------------------------------------------------------------------

SUMMARY_REPLIES = [
    (
        "1. Clenched fists.\n2. Raised voice.\n3. Possible argument",
        ["Clenched fists.", "Raised voice.", "Possible argument"],
    ),
    (
        "Here are the emotional triggers:\n\n"
        "1. Broad grin at the camera.\n2. Friends cheering nearby.",
        ["Broad grin at the camera.", "Friends cheering nearby."],
    ),
    (
        "1) Rainy street\n2) Head bowed toward the ground",
        ["Rainy street", "Head bowed toward the ground"],
    ),
    ("- Empty room\n- Slumped shoulders", ["Empty room", "Slumped shoulders"]),
    (
        "1. **Facial expression:** furrowed brow.\n2. **Setting:** crowded office.",
        ["Facial expression: furrowed brow.", "Setting: crowded office."],
    ),
    (
        "**Explicit triggers:**\n1. Broken vase on the floor.\n\n**Implicit triggers:**\n"
        "2. Possible loss of a keepsake.",
        ["Broken vase on the floor.", "Possible loss of a keepsake."],
    ),
    (
        "1. Confetti in the air.\n2. Arms flung overhead.\n\n"
        "These triggers reflect the festive mood.",
        ["Confetti in the air.", "Arms flung overhead."],
    ),
    (
        "1. Arms flung overhead.\n2. Arms flung overhead\n3. \n4. Cheering crowd.",
        ["Arms flung overhead.", "Cheering crowd."],
    ),
    (
        "1. A long trigger that\nwraps onto a second line.\n2. B.",
        ["A long trigger that wraps onto a second line.", "B."],
    ),
    ('1. "Love" t-shirt.\n2. Smiling.', ['"Love" t-shirt.', "Smiling."]),
    (
        "1. Tears on the cheeks.\n2. Funeral setting.\nNote: the second is inferred.",
        ["Tears on the cheeks.", "Funeral setting."],
    ),
    (
        "<think>Let me list them.</think>1. Tear-streaked cheeks.\n2. Unlit bedroom.<|im_end|>",
        ["Tear-streaked cheeks.", "Unlit bedroom."],
    ),
]


@pytest.mark.parametrize(("reply", "expected"), SUMMARY_REPLIES)
def test_parse_summary_reads_trigger_lists(reply: str, expected: list[str]) -> None:
    assert st.parse_summary(reply) == expected


@pytest.mark.parametrize("reply", ["", "\n\n", "1. \n2.", "Here are the triggers:", "<think>..."])
def test_parse_summary_refuses_replies_without_triggers(reply: str) -> None:
    with pytest.raises(ValueError):
        st.parse_summary(reply)


def test_parse_summary_agrees_with_the_release_parser_on_release_lists(
    release_dir: Path,
) -> None:
    truth = json.loads((release_dir / "EI_Basic" / "basic_ground_truth.json").read_text())
    for text in truth.values():
        assert st.parse_summary(text) == parse_triggers(text)


# --- parse_verify -----------------------------------------------------------------------------

VERIFY_REPLIES = [
    ("yes", True),
    ("Yes, the man is clearly holding a card.", True),
    ("**Yes** - it is visible.", True),
    ("Answer: yes", True),
    ("No.", False),
    ("NO, there is no card.", False),
    ("Not supported: nothing like it is visible.", False),
    ("Unsure", None),
    ("Not sure; the face is hidden.", None),
    ("The image shows a man in a red cap.", None),
    ("Nothing in the image contradicts it.", None),
    ("", None),
]


@pytest.mark.parametrize(("reply", "expected"), VERIFY_REPLIES)
def test_parse_verify_reads_the_first_word(reply: str, expected: bool | None) -> None:
    assert st.parse_verify(reply) is expected


# --- fuzzing ----------------------------------------------------------------------------------

REPLY_TEXT = hs.text(
    alphabet=hs.sampled_from(list("ab ?.:!\"'*_-#>`()[]\n\t1234\u2022\u201c\u201d\u2019Q"))
    | hs.characters(),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(REPLY_TEXT)
def test_question_parsers_raise_only_value_error(text: str) -> None:
    try:
        question = st.parse_question(text)
    except ValueError:
        pass
    else:
        assert question.endswith("?") and any(ch.isalnum() for ch in question)
    questions = st.parse_questions(text, 3)
    assert isinstance(questions, list) and len(questions) <= 3
    assert all(q.endswith("?") for q in questions)


@settings(max_examples=300, deadline=None)
@given(REPLY_TEXT)
def test_summary_and_verify_parsers_never_crash(text: str) -> None:
    try:
        triggers = st.parse_summary(text)
    except ValueError:
        pass
    else:
        assert triggers and all(t.strip() for t in triggers)
    assert st.parse_verify(text) in (True, False, None)
