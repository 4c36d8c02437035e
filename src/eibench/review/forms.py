"""The review forms without the web: what each campaign kind's form shows (pre-filled from the
rater's current response) and how a submitted form becomes a `Response`, refusing bad input
with a `FormError` that says what was wrong.

Submitted fields (all strings; `Fields` maps a name to every value sent under it):
- rate: `score` (a whole number on the campaign's scale: 1-5 or 0-5) and `comment`;
- refine: `text-I` and `flag-I` (keep, hallucinated, irrelevant) per draft trigger I (1-based),
  `added` (any number, empty ones ignored), `note`, and `decision` (accept or reject);
- audit: `covered-I` (covered or missed) per ground-truth trigger I (1-based) and `note`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from eibench.review.campaigns import Response, ReviewItem, TriggerEdit
from eibench.review.scales import PAPER_SCALE, Scale

Fields = Mapping[str, Sequence[str]]

MAX_TEXT = 2000  # characters in one trigger
MAX_NOTE = 5000  # characters in a note or comment
MAX_ADDED = 30  # triggers a refinement may add
FLAGS = ("keep", "hallucinated", "irrelevant")
_FLAG_VALUES: dict[str, Literal["hallucinated", "irrelevant"] | None] = {
    "keep": None,
    "hallucinated": "hallucinated",
    "irrelevant": "irrelevant",
}
COVERAGE = ("covered", "missed")


class FormError(ValueError):
    """A submitted form that cannot be stored; the message is shown to the rater."""


class OffScale(FormError):
    """A whole-number score that is not on the campaign's scale."""


@dataclass
class TriggerRow:
    """One draft or ground-truth trigger on a form.

    index: its 1-based number; text: the text shown (the edit, for refine); original: the draft
    text; state: refine's flag (keep, hallucinated, irrelevant) or audit's covered/missed, or
    None when the rater has not chosen yet."""

    index: int
    text: str
    original: str
    state: str | None = None


@dataclass
class FormView:
    """What a task's form shows. score: rate's chosen score; rows: one per draft (refine) or
    ground-truth (audit) trigger; added: triggers the rater added (refine); note: the comment
    or note; decision: refine's accept/reject; answered: whether a response exists."""

    score: int | None = None
    rows: list[TriggerRow] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    note: str = ""
    decision: str | None = None
    answered: bool = False


def form_view(item: ReviewItem, kind: str, current: Response | None) -> FormView:
    """The form for `item` in a campaign of `kind`, pre-filled from the rater's `current`
    response (None: an empty form)."""
    view = FormView(answered=current is not None, note=current.note if current else "")
    if kind == "rate":
        view.score = current.score if current else None
    elif kind == "refine":
        view.rows = [TriggerRow(i, t, t, "keep") for i, t in enumerate(item.triggers, 1)]
        view.decision = current.decision if current else None
        for edit in (current.triggers or []) if current else []:
            if edit.original is None:
                view.added.append(edit.text)
            elif 1 <= edit.original <= len(view.rows):
                row = view.rows[edit.original - 1]
                row.text, row.state = edit.text, edit.flag or "keep"
    elif kind == "audit":
        covered = current.covered if current else None
        if covered is None or len(covered) != len(item.triggers):
            states: list[str | None] = [None] * len(item.triggers)
        else:
            states = [COVERAGE[0] if c else COVERAGE[1] for c in covered]
        view.rows = [TriggerRow(i, t, t, states[i - 1]) for i, t in enumerate(item.triggers, 1)]
    return view


def _one(fields: Fields, name: str, *, required: bool = True) -> str:
    """The single value of field `name` ("" when absent and not `required`)."""
    values = fields.get(name, [])
    if len(values) > 1:
        raise FormError(f"the field {name!r} was sent {len(values)} times")
    if not values:
        if required:
            raise FormError(f"the field {name!r} is missing")
        return ""
    return values[0]


def _text(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise FormError(f"{what} is longer than {limit} characters")
    if "\x00" in value:
        raise FormError(f"{what} contains a NUL character")
    return value


def _choice(fields: Fields, name: str, choices: Sequence[str], what: str) -> str:
    value = _one(fields, name)
    if value not in choices:
        raise FormError(f"{what}: choose one of {', '.join(choices)} (got {value[:40]!r})")
    return value


def parse_response(
    item: ReviewItem, kind: str, rater: str, fields: Fields, scale: Scale | None = None
) -> Response:
    """The response that `rater` submitted on `item` in a campaign of `kind`; `scale`: a rate
    campaign's scale (None: the paper's 1-5).

    Raises FormError for a missing, repeated, unknown or out-of-range value, a text over its
    length limit, or an accepted refinement that keeps no trigger; `OffScale` (a FormError)
    for a whole-number score that is not on `scale`."""
    note = _text(
        _one(fields, "comment" if kind == "rate" else "note", required=False), "the note", MAX_NOTE
    )
    if kind == "rate":
        return _parse_rate(item, rater, fields, note, scale or PAPER_SCALE)
    if kind == "refine":
        return _parse_refine(item, rater, fields, note)
    if kind == "audit":
        expected = {f"covered-{i}" for i in range(1, len(item.triggers) + 1)}
        sent = {name for name in fields if name.startswith("covered-")}
        if sent != expected:
            raise FormError(
                f"mark each of the {len(item.triggers)} triggers covered or missed "
                f"({len(sent & expected)} marked)"
            )
        covered = [
            _choice(fields, f"covered-{i}", COVERAGE, f"trigger {i}") == COVERAGE[0]
            for i in range(1, len(item.triggers) + 1)
        ]
        return Response(kind="audit", rater=rater, item_id=item.item_id, covered=covered, note=note)
    raise FormError(f"unknown campaign kind {kind!r}")


def _parse_rate(item: ReviewItem, rater: str, fields: Fields, note: str, scale: Scale) -> Response:
    raw = _one(fields, "score")
    wanted = f"a whole number from {scale.low} to {scale.high}"
    if re.fullmatch(r"-?[0-9]{1,8}", raw) is None:
        raise FormError(f"the score must be {wanted} (got {raw[:40]!r})")
    if int(raw) not in scale.points:
        raise OffScale(f"{raw} is not on this campaign's {scale.name} scale: give {wanted}")
    return Response(kind="rate", rater=rater, item_id=item.item_id, score=int(raw), note=note)


def _parse_refine(item: ReviewItem, rater: str, fields: Fields, note: str) -> Response:
    decision = _choice(fields, "decision", ("accept", "reject"), "the decision")
    edits: list[TriggerEdit] = []
    for i in range(1, len(item.triggers) + 1):
        text = _text(_one(fields, f"text-{i}").strip(), f"trigger {i}", MAX_TEXT)
        flag = _FLAG_VALUES[_choice(fields, f"flag-{i}", FLAGS, f"trigger {i}")]
        if flag is not None and not text:
            text = item.triggers[i - 1]  # a removed trigger keeps its draft text as history
        edits.append(TriggerEdit(text=text, original=i, flag=flag))
    added = [a.strip() for a in fields.get("added", []) if a.strip()]
    if len(added) > MAX_ADDED:
        raise FormError(f"at most {MAX_ADDED} triggers can be added")
    edits += [TriggerEdit(text=_text(a, "an added trigger", MAX_TEXT)) for a in added]
    response = Response(
        kind="refine", rater=rater, item_id=item.item_id, triggers=edits, decision=decision,
        note=note,
    )  # fmt: skip
    if decision == "accept" and not response.kept_triggers():
        raise FormError("an accepted annotation needs at least one trigger; reject it instead")
    return response
