"""The `triggers` judge protocol: schema, messages, and reading real-world replies."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eibench.judges.structured import (
    PROTOCOL,
    SCHEMA,
    build_messages,
    params,
    parse_reply,
    prompt_version,
    reask_message,
)
from eibench.models.base import GenerationParams
from eibench.records.verdict import JudgeParseError, TriggerEvidence
from eibench.settings.prompts import version

ANSWER = (
    "The man is angry because his motorcycle has broken down on a lonely road. He is shouting "
    "with his fists clenched. The grey sky adds to the gloomy mood."
)
TRIGGERS = [
    "Mechanical issues with the motorcycle.",
    "Raised voice and clenched fists.",
    "Being stranded far from help.",
]


def reply(triggers: list[tuple[Any, Any, Any]], claims: list[tuple[Any, Any]], **extra: Any) -> str:
    """A judge reply in the protocol's shape: (index, covered, evidence) and (claim, matches)."""
    return json.dumps(
        {
            "triggers": [
                {"index": i, "evidence": e, "reason": "because", "covered": c}
                for i, c, e in triggers
            ],
            "claims": [{"claim": t, "matches": m} for t, m in claims],
            **extra,
        }
    )


CLEAN = reply(
    [
        (1, True, "his motorcycle has broken down"),
        (2, True, "shouting with his fists clenched"),
        (3, False, ""),
    ],
    [
        ("his motorcycle has broken down", [1]),
        ("he is shouting with his fists clenched", [2]),
        ("the grey sky adds to the gloomy mood", []),
    ],
)


def readable(text: str) -> tuple[int, float | None, tuple[str, ...]]:
    verdict = parse_reply(text, 3)
    return verdict.correct, verdict.precision, verdict.unmatched_claims


GOOD = (2, 2 / 3, ("the grey sky adds to the gloomy mood",))

ACCEPTED = {
    "clean JSON": CLEAN,
    "fenced JSON": f"```json\n{CLEAN}\n```",
    "prose around JSON": f"Here is my assessment {{as asked}}:\n{CLEAN}\nI hope this helps.",
    "pretty-printed with trailing commas": json.dumps(json.loads(CLEAN), indent=2)
    .replace('"\n', '",\n')
    .replace("]\n", "],\n"),
    "extra keys": reply(
        [(1, True, "his motorcycle has broken down"), (2, True, "shouting"), (3, False, "")],
        [("motorcycle broke down", [1]), ("shouting", [2]), ("grey sky", [])],
        score="2/3",
        note={"confidence": "high"},
    ),
    "yes/no booleans and string indices": reply(
        [
            ("1", "yes", "his motorcycle has broken down"),
            ("2", "True", "shouting"),
            (3.0, "no", ""),
        ],
        [("motorcycle broke down", ["1"]), ("shouting", [2.0]), ("grey sky", [])],
    ),
    "draft then final object": reply([(1, True, "x")], []) + "\nCorrected:\n" + CLEAN,
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_realistic_replies_are_read(text: str) -> None:
    correct, precision, unmatched = readable(text)
    assert correct == 2
    assert precision == pytest.approx(2 / 3)
    assert len(unmatched) == 1


def test_clean_reply_gives_the_full_verdict() -> None:
    verdict = parse_reply(CLEAN, 3)
    assert (verdict.correct, verdict.precision, verdict.unmatched_claims) == GOOD
    assert verdict.total == 3 and verdict.judge_total is None
    assert verdict.unsupported_rate == pytest.approx(1 / 3)
    assert verdict.triggers == (
        TriggerEvidence(index=1, covered=True, evidence="his motorcycle has broken down"),
        TriggerEvidence(index=2, covered=True, evidence="shouting with his fists clenched"),
        TriggerEvidence(index=3, covered=False, evidence=None),
    )


def test_raw_newline_inside_a_string_is_tolerated() -> None:
    text = CLEAN.replace("shouting with his fists clenched", "shouting\nwith his fists clenched")
    assert parse_reply(text, 3).triggers[1].evidence == "shouting\nwith his fists clenched"


def test_evidence_of_an_uncovered_trigger_is_dropped_and_spans_are_stripped() -> None:
    text = reply([(1, True, "  broken down "), (2, False, "fists")], [("broken down", [1])])
    verdict = parse_reply(text, 2)
    assert [t.evidence for t in verdict.triggers] == ["broken down", None]


REJECTED = {
    "missing trigger": (
        reply([(1, True, "broken down"), (2, False, "")], [("broken down", [1])]),
        'trigger 3 is missing from "triggers"',
    ),
    "duplicate index": (
        reply([(1, True, "a"), (2, False, ""), (2, True, "b"), (3, False, "")], [("a", [1])]),
        "trigger 2 has more than one entry",
    ),
    "index out of range": (
        reply([(1, False, ""), (2, False, ""), (4, False, "")], []),
        '"index" 4, but triggers run from 1 to 3',
    ),
    "zero-based indices": (
        reply([(0, False, ""), (1, False, ""), (2, False, "")], []),
        '"index" 0, but triggers run from 1 to 3',
    ),
    "claim cites an index out of range": (
        reply([(1, True, "a"), (2, False, ""), (3, False, "")], [("a", [1, 9])]),
        "claim 1 cites trigger 9, outside 1 to 3",
    ),
    "empty object": ("{}", 'the object has no "triggers" list'),
    "truncated JSON": (CLEAN[: len(CLEAN) // 2], "is never closed: it is cut off"),
    "truncated after prose with braces": (
        "My answer {see below}: " + CLEAN[:-40],
        "is never closed",
    ),
    "paper format": (
        "{score: 2/5}\nThe answer identifies two of five triggers.",
        "not valid JSON: {score: 2/5} (Expecting property name enclosed in double quotes",
    ),
    "prose only": ("The answer covers two triggers out of three.", "contains no JSON object"),
    "empty reply": ("   \n", "The reply is empty"),
    "JSON array": ("[1, 2, 3]", "The reply is a list, not a JSON object"),
    "lists of the wrong type": (
        '{"triggers": "all of them", "claims": 2}',
        '"triggers" must be a list, not a string',
    ),
    "covered with empty evidence": (
        reply([(1, True, " "), (2, False, ""), (3, False, "")], [("a", [1])]),
        'trigger 1 is marked covered but its "evidence" is empty',
    ),
    "covered is not a boolean": (
        reply([(1, "maybe", "a"), (2, False, ""), (3, False, "")], []),
        '"covered" "maybe": use true or false',
    ),
    "claim cites an uncovered trigger": (
        reply([(1, True, "a"), (2, False, ""), (3, False, "")], [("a", [1, 2])]),
        "claim 1 cites trigger 2, which is marked not covered",
    ),
    "covered trigger cited by no claim": (
        reply([(1, True, "a"), (2, True, "b"), (3, False, "")], [("a", [1])]),
        "trigger 2 is marked covered but no claim cites it",
    ),
    "matches is not a list": (
        reply([(1, True, "a"), (2, False, ""), (3, False, "")], [("a", 1)]),
        'the "matches" of claim 1 is a number',
    ),
    "claim text empty": (
        reply([(1, False, ""), (2, False, ""), (3, False, "")], [("  ", [])]),
        'the "claim" text of claim 1 must be a non-empty string',
    ),
    "trigger entry is not an object": (
        '{"triggers": [1, 2, 3], "claims": []}',
        'entry 1 of "triggers" is a number, not an object',
    ),
}


def rejection(text: str, n: int) -> str:
    """The message of the JudgeParseError that `text` raises."""
    with pytest.raises(JudgeParseError) as caught:
        parse_reply(text, n)
    return str(caught.value)


@pytest.mark.parametrize(("text", "fragment"), REJECTED.values(), ids=REJECTED.keys())
def test_unusable_replies_raise_a_clear_error(text: str, fragment: str) -> None:
    assert fragment in rejection(text, 3)


def test_every_problem_is_listed_in_one_message() -> None:
    text = reply([(1, True, ""), (5, False, ""), (2, "?", "")], [("a", [7])])
    message = rejection(text, 3)
    assert message.startswith("The reply has ")
    for fragment in ('"evidence" is empty', '"index" 5', '"covered" "?"', "cites trigger 7"):
        assert fragment in message
    assert "\n" not in message


def test_a_long_list_of_problems_is_capped() -> None:
    text = reply([(i, "?", "") for i in range(1, 21)], [])
    message = rejection(text, 20)
    assert "The reply has 20 problems" in message and "and 12 more" in message


def test_recall_precision_f1_and_unsupported_rate_on_a_worked_example() -> None:
    # 5 triggers, 3 covered; 4 claims: one covers triggers 1 and 2, one covers 4, one repeats
    # trigger 4 in other words, one covers nothing.
    text = reply(
        [(1, True, "a"), (2, True, "b"), (3, False, ""), (4, True, "d"), (5, False, "")],
        [("a and b", [1, 2]), ("d", [4]), ("d again", [4, 4]), ("weather", [])],
    )
    verdict = parse_reply(text, 5)
    assert (verdict.correct, verdict.total) == (3, 5)
    assert verdict.recall == pytest.approx(0.6)
    assert verdict.precision == pytest.approx(0.75)
    assert verdict.unsupported_rate == pytest.approx(0.25)
    assert verdict.f1 == pytest.approx(2 * 0.75 * 0.6 / (0.75 + 0.6))
    assert verdict.unmatched_claims == ("weather",)


def test_an_answer_without_claims_has_no_precision() -> None:
    verdict = parse_reply(reply([(1, False, ""), (2, False, "")], []), 2)
    assert (verdict.correct, verdict.recall) == (0, 0.0)
    assert verdict.precision is None and verdict.unsupported_rate is None and verdict.f1 is None


def test_the_total_comes_from_the_ground_truth_not_the_reply() -> None:
    text = reply([(1, True, "a"), (2, False, "")], [("a", [1])], total=7, correct=5)
    verdict = parse_reply(text, 2)
    assert (verdict.correct, verdict.total) == (1, 2)


def test_a_bad_trigger_count_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        parse_reply(CLEAN, 0)
    with pytest.raises(ValueError):
        build_messages(ANSWER, [])


# -- schema ------------------------------------------------------------------------------------

STRICT_KEYWORDS = {"type", "description", "properties", "required", "additionalProperties", "items"}


def walk(schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every node's path; fails on anything OpenAI strict structured outputs would reject."""
    assert set(schema) <= STRICT_KEYWORDS, f"{path}: unsupported keywords {set(schema)}"
    assert schema["type"] in {"object", "array", "string", "integer", "boolean"}, path
    seen = [path]
    if schema["type"] == "object":
        assert schema["additionalProperties"] is False, path
        assert schema["required"] == list(schema["properties"]), path
        for name, sub in schema["properties"].items():
            seen += walk(sub, f"{path}.{name}")
    if schema["type"] == "array":
        seen += walk(schema["items"], f"{path}[]")
    return seen


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """A small JSON schema check covering the keywords `SCHEMA` uses."""
    kind = schema["type"]
    if kind == "object":
        return (
            isinstance(value, dict)
            and set(value) == set(schema["required"])
            and all(conforms(value[k], s) for k, s in schema["properties"].items())
        )
    if kind == "array":
        return isinstance(value, list) and all(conforms(v, schema["items"]) for v in value)
    types = {"string": str, "integer": int, "boolean": bool}
    return isinstance(value, types[kind]) and (kind == "boolean" or not isinstance(value, bool))


def test_schema_is_valid_for_openai_strict_mode() -> None:
    paths = walk(SCHEMA)
    assert "$.triggers[].covered" in paths and "$.claims[].matches[]" in paths
    json.dumps(SCHEMA)  # serialisable as sent


def test_the_schema_accepts_a_reply_the_parser_reads() -> None:
    assert conforms(json.loads(CLEAN), SCHEMA)
    assert not conforms({"triggers": [], "claims": [], "extra": 1}, SCHEMA)


# -- messages and parameters ------------------------------------------------------------------


def test_messages_number_the_triggers_and_quote_the_answer_verbatim() -> None:
    answer = "He is {furious}.\n\nHis bike  broke down... 100% angry }{"
    system, user = build_messages(answer, TRIGGERS)
    assert (system.role, user.role) == ("system", "user")
    text = user.plain_text()
    assert answer in text
    assert (
        "1. Mechanical issues with the motorcycle.\n2. Raised voice and clenched fists.\n3. "
        in (text)
    )
    assert "(3 in all)" in text and "4." not in text.split("Steps:")[0].split(">>>")[1]
    assert "strict but fair" in system.plain_text()


def test_the_format_example_in_the_prompt_is_a_reply_the_parser_accepts() -> None:
    text = build_messages(ANSWER, TRIGGERS[:2])[1].plain_text()
    example = next(line for line in text.splitlines() if line.startswith('{"triggers"'))
    assert conforms(json.loads(example), SCHEMA)
    assert parse_reply(example, 2).correct == 1


def test_prompt_asks_for_paraphrase_credit_and_topic_strictness() -> None:
    system = build_messages(ANSWER, TRIGGERS)[0].plain_text()
    assert "Paraphrases" in system and "same topic" in system and "filler" in system


def test_params_ask_for_the_schema_and_room_to_answer() -> None:
    base = GenerationParams(temperature=0.1, top_p=0.9, max_tokens=512, seed=3)
    judged = params(base)
    assert judged.json_schema == SCHEMA and judged.max_tokens >= 1024
    assert (judged.temperature, judged.top_p, judged.seed) == (0.1, 0.9, 3)
    assert base.json_schema is None
    assert params(GenerationParams(max_tokens=8000)).max_tokens == 8000


def test_reask_message_carries_the_error_and_asks_for_json() -> None:
    error = JudgeParseError("The reply has a problem: trigger 3 is missing.")
    message = reask_message(error)
    assert message.role == "user"
    assert "trigger 3 is missing" in message.plain_text() and "JSON" in message.plain_text()


def test_prompt_version_hashes_the_templates() -> None:
    assert PROTOCOL == "triggers"
    assert prompt_version() == version(
        "judge/triggers_system", "judge/triggers", "judge/triggers_reask"
    )
    assert re.fullmatch(r"[0-9a-f]{12}", prompt_version())


# -- fuzzing -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "index": json_values | st.integers(-2, 5),
        "covered": json_values,
        "evidence": json_values,
        "claim": json_values,
        "matches": json_values | st.lists(st.integers(-1, 6), max_size=3),
    },
)
shaped = st.fixed_dictionaries(
    {},
    optional={"triggers": st.lists(entries, max_size=5) | json_values, "claims": json_values},
).map(json.dumps)
noise = st.text(alphabet=st.sampled_from('{}[]",:\\ tnrue0123yes`\n'), max_size=60)
texts = st.text(max_size=300) | shaped | st.tuples(noise, shaped, noise).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=texts, n=st.integers(1, 6))
def test_arbitrary_text_gives_a_verdict_or_a_judge_parse_error(text: str, n: int) -> None:
    try:
        verdict = parse_reply(text, n)
    except JudgeParseError as error:
        assert str(error).strip()
        return
    assert verdict.total == n and 0 <= verdict.correct <= n
    assert [t.index for t in verdict.triggers] == list(range(1, n + 1))
    assert verdict.precision is None or 0.0 <= verdict.precision <= 1.0
