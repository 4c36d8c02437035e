"""The `triggers` protocol: a structured, trigger-level LLM judge.

The judge replies with one JSON object (`SCHEMA`):

    {"triggers": [{"index": 1, "evidence": "...", "reason": "...", "covered": true}, ...],
     "claims":   [{"claim": "...", "matches": [1, 3]}, ...]}

`triggers` has one entry per ground-truth trigger (1-based): whether the answer covers it and
the answer's words that do. `claims` lists the distinct reasons the answer gives, each with the
triggers it matches (`[]`: none). `parse_reply` turns that into a `Verdict`.

Reading is tolerant of how real judges write: the object may sit in a code fence or in prose
(the last object holding the expected keys wins) and may have trailing commas or raw newlines
in strings (`json_reply` finds and repairs it); booleans may be written as `true`, `"yes"`,
`"True"` or `1` and indices as `2`, `2.0` or `"2"`. Other keys (`reason` included) are
ignored. A reply that is unclear or contradicts itself raises `JudgeParseError` listing every
problem, worded to be sent back to the judge: no JSON object, invalid JSON or an object cut
off; a key missing or of the wrong type; a trigger index missing, repeated or outside 1..n, or
a claim citing one outside 1..n; a covered trigger with empty evidence; a claim citing an
uncovered trigger, or a covered trigger that no claim cites. Whether the evidence occurs in
the answer is not checked here (it needs the answer).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from eibench.data.triggers import numbered
from eibench.judges.json_reply import clip, find_json_object, json_kind
from eibench.models.base import GenerationParams, Message
from eibench.records.verdict import JudgeParseError, TriggerEvidence, Verdict
from eibench.settings.prompts import render, template, version

PROTOCOL = "triggers"
SYSTEM_TEMPLATE = "judge/triggers_system"
USER_TEMPLATE = "judge/triggers"
MIN_MAX_TOKENS = 2048  # ten triggers with evidence and a reason each, plus the claims

REASK_TEMPLATE = "judge/triggers_reask"  # `{error}` is the JudgeParseError message


def _strict(description: str, **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema as OpenAI strict mode wants it: every property required, no others."""
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


_NUMBER = {"type": "integer", "description": "a trigger's number in the ground-truth list"}

SCHEMA: dict[str, Any] = _strict(
    "a trigger-level judgment of one answer",
    triggers={
        "type": "array",
        "description": "one entry per ground-truth trigger, in order from 1 to n",
        "items": _strict(
            "one ground-truth trigger",
            index=_NUMBER,
            evidence=_text('the answer\'s words that state this cause, copied exactly; "" if none'),
            reason=_text("one short sentence on why the trigger is or is not covered"),
            covered={"type": "boolean", "description": "whether the answer states this cause"},
        ),
    },
    claims={
        "type": "array",
        "description": "the distinct reasons the answer gives for the emotion",
        "items": _strict(
            "one reason the answer gives",
            claim=_text("the reason, briefly, in the answer's words"),
            matches={
                "type": "array",
                "description": "the triggers this claim covers; [] for none",
                "items": _NUMBER,
            },
        ),
    },
)

_KEYS = ("triggers", "claims")
_MAX_PROBLEMS = 8  # problems spelled out in one error message
_DIGITS = re.compile(r"\s*([0-9]{1,6})\s*")
_TRUE, _FALSE = frozenset({"true", "yes"}), frozenset({"false", "no"})

Found = dict[int, tuple[bool, str]]  # trigger index -> (covered, evidence)
Claims = list[tuple[str, tuple[int, ...]]]  # (claim, cited trigger indices)


def prompt_version() -> str:
    return version(SYSTEM_TEMPLATE, USER_TEMPLATE, REASK_TEMPLATE)


def build_messages(answer: str, triggers: Sequence[str]) -> list[Message]:
    """The system and user turns asking the judge to compare `answer` (inserted verbatim)
    with `triggers`, the sample's ground-truth list."""
    if not triggers:
        raise ValueError("no ground-truth triggers to judge against")
    listed = numbered(triggers, strip=True)
    user = render(USER_TEMPLATE, answer=answer, triggers=listed, n=str(len(triggers)))
    return [
        Message.text("system", template(SYSTEM_TEMPLATE).strip()),
        Message.text("user", user.strip()),
    ]


def params(base: GenerationParams) -> GenerationParams:
    """`base`, asking for a reply that matches `SCHEMA` and leaving room for it."""
    update = {
        "json_schema": copy.deepcopy(SCHEMA),
        "max_tokens": max(base.max_tokens or MIN_MAX_TOKENS, MIN_MAX_TOKENS),
    }
    return base.model_copy(update=update)


def reask_message(error: JudgeParseError) -> Message:
    """The user turn sent after a reply that `parse_reply` rejected."""
    return Message.text("user", render(REASK_TEMPLATE, error=str(error)))


def parse_reply(text: str, n_triggers: int) -> Verdict:
    """The verdict in a judge reply, for a sample with `n_triggers` ground-truth triggers.

    precision is the share of claims that match some trigger and unsupported_rate the share
    that match none; both are None when the answer makes no claim (0/0 is undefined; no trigger
    is covered then, so recall is 0). Evidence is kept for covered triggers only."""
    if n_triggers < 1:
        raise ValueError(f"n_triggers must be at least 1, got {n_triggers}")
    obj = find_json_object(text, _KEYS)
    problems: list[str] = []
    for key in _KEYS:
        if key not in obj:
            problems.append(f'the object has no "{key}" list')
        elif not isinstance(obj[key], list):
            problems.append(f'"{key}" must be a list, not {json_kind(obj[key])}')
    found = _read_triggers(obj.get("triggers"), n_triggers, problems)
    claims = _read_claims(obj.get("claims"), n_triggers, problems)
    if not problems:
        _check_agreement(found, claims, problems)
    if problems:
        raise JudgeParseError(_summary(problems))

    matched = sum(1 for _, cited in claims if cited)
    return Verdict(
        correct=sum(1 for covered, _ in found.values() if covered),
        total=n_triggers,
        precision=matched / len(claims) if claims else None,
        unsupported_rate=(len(claims) - matched) / len(claims) if claims else None,
        triggers=tuple(
            TriggerEvidence(index=i, covered=c, evidence=e if c else None)
            for i, (c, e) in sorted(found.items())
        ),
        unmatched_claims=tuple(claim for claim, cited in claims if not cited),
    )


# -- reading the object ---------------------------------------------------------------------


def _read_triggers(raw: Any, n: int, problems: list[str]) -> Found:
    found: Found = {}
    seen: set[int] = set()  # indices with an entry, well-formed or not
    repeated: set[int] = set()
    for pos, item in enumerate(raw if isinstance(raw, list) else [], 1):
        where = f'entry {pos} of "triggers"'
        if not isinstance(item, dict):
            problems.append(f"{where} is {json_kind(item)}, not an object")
            continue
        index, covered, evidence = _index(item, where, n, problems), None, None
        if index is not None and index in seen:
            repeated.add(index)
            continue
        if index is not None:
            seen.add(index)
        if "covered" not in item:
            problems.append(f'{where} has no "covered"')
        elif (covered := _as_bool(item["covered"])) is None:
            problems.append(f'{where} has "covered" {_preview(item["covered"])}: use true or false')
        if (evidence := _evidence(item.get("evidence"))) is None:
            problems.append(f'{where} has "evidence" {_preview(item["evidence"])}, not a string')
        if index is None or covered is None or evidence is None:
            continue
        if covered and not evidence:
            problems.append(
                f'trigger {index} is marked covered but its "evidence" is empty: quote the '
                'words of the answer that state it, or set "covered" to false'
            )
        found[index] = (covered, evidence)
    problems.extend(f"trigger {i} has more than one entry" for i in sorted(repeated))
    if isinstance(raw, list) and (missing := [i for i in range(1, n + 1) if i not in seen]):
        problems.append(
            f'{_numbers(missing)} missing from "triggers", which needs one entry for each '
            f"trigger from 1 to {n}"
        )
    return found


def _read_claims(raw: Any, n: int, problems: list[str]) -> Claims:
    claims: Claims = []
    for pos, item in enumerate(raw if isinstance(raw, list) else [], 1):
        if not isinstance(item, dict):
            problems.append(f"claim {pos} is {json_kind(item)}, not an object")
            continue
        text, matches = item.get("claim"), item.get("matches")
        if not isinstance(text, str) or not text.strip():
            what = "is missing" if "claim" not in item else "must be a non-empty string"
            problems.append(f'the "claim" text of claim {pos} {what}')
            continue
        if not isinstance(matches, list):
            what = "is missing" if "matches" not in item else f"is {json_kind(matches)}"
            problems.append(f'the "matches" of claim {pos} {what}: it must be a list of numbers')
            continue
        cited: list[int] = []
        for value in matches:
            index = _as_index(value)
            if index is None:
                problems.append(f"claim {pos} cites {_preview(value)}, not a trigger number")
            elif not 1 <= index <= n:
                problems.append(f"claim {pos} cites trigger {index}, outside 1 to {n}")
            elif index not in cited:
                cited.append(index)
        claims.append((text.strip(), tuple(cited)))
    return claims


def _check_agreement(found: Found, claims: Claims, problems: list[str]) -> None:
    """Every cited trigger is covered, and every covered trigger is cited."""
    covered = {i for i, (c, _) in found.items() if c}
    for pos, (_, cited) in enumerate(claims, 1):
        problems.extend(
            f"claim {pos} cites trigger {i}, which is marked not covered: mark it covered with "
            f'its evidence, or take {i} out of the claim\'s "matches"'
            for i in cited
            if i not in covered
        )
    cited_anywhere = {i for _, cited in claims for i in cited}
    problems.extend(
        f'trigger {i} is marked covered but no claim cites it: add {i} to the "matches" of '
        "the claim that states it"
        for i in sorted(covered - cited_anywhere)
    )


def _index(item: dict[str, Any], where: str, n: int, problems: list[str]) -> int | None:
    if "index" not in item:
        problems.append(f'{where} has no "index"')
        return None
    index = _as_index(item["index"])
    if index is None:
        problems.append(f'{where} has "index" {_preview(item["index"])}, not a trigger number')
    elif not 1 <= index <= n:
        problems.append(f'{where} has "index" {index}, but triggers run from 1 to {n}')
        return None
    return index


def _evidence(value: Any) -> str | None:
    """Evidence text, stripped: null reads as "", a list of strings as its parts joined by
    " ... "; None for anything else."""
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = " ... ".join(v.strip() for v in value if v.strip())
    return value.strip() if isinstance(value, str) else None


def _as_index(value: Any) -> int | None:
    """A trigger number written as 2, 2.0 or "2"; None for anything else (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (match := _DIGITS.fullmatch(value)):
        return int(match.group(1))
    return None


def _as_bool(value: Any) -> bool | None:
    """true/false, "yes"/"no" or "true"/"false" in any case, or 1/0; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else ""
    return True if word in _TRUE else False if word in _FALSE else None


# -- wording --------------------------------------------------------------------------------


def _summary(problems: list[str]) -> str:
    if len(problems) == 1:
        return f"The reply has a problem: {problems[0]}."
    shown = [f"({i}) {p}" for i, p in enumerate(problems[:_MAX_PROBLEMS], 1)]
    shown += [f"and {len(problems) - _MAX_PROBLEMS} more"] if len(problems) > _MAX_PROBLEMS else []
    return f"The reply has {len(problems)} problems: {'; '.join(shown)}."


def _numbers(indices: Sequence[int]) -> str:
    """'trigger 3 is' or 'triggers 2, 4 and 5 are'."""
    if len(indices) == 1:
        return f"trigger {indices[0]} is"
    return "triggers " + ", ".join(map(str, indices[:-1])) + f" and {indices[-1]} are"


def _preview(value: Any) -> str:
    """`value` as short JSON, for an error message."""
    try:
        return clip(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return clip(repr(value))
