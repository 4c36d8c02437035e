"""Review campaigns in the run store: the items people review, their raters (login tokens stored
hashed), and every response, append-only (the latest response of a rater on an item is the
current one; earlier ones stay as history). Signed-in sessions and revoked raters are in
`review.sessions` and `review.tokens`. The SQL of all of them is in `store.review`."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from eibench.errors import EIBenchError
from eibench.review.names import check_name
from eibench.review.scales import DEFAULT_SCALE, Scale, ScaleName, get_scale
from eibench.store import Store
from eibench.store import review as tables

Kind = Literal["rate", "refine", "audit"]
KINDS: tuple[str, ...] = ("rate", "refine", "audit")

Deliver = Callable[[dict[str, str]], None]


class Campaign(BaseModel):
    name: str
    kind: Kind
    source: str = Field(description="basic, complex, annotations[:BATCH] or run:NAME")
    raters: list[str]
    scale: ScaleName | None = Field(
        None, description="rate: the rating scale (the paper's 1-5 unless chosen); None otherwise"
    )
    created_at: str = ""

    @model_validator(mode="after")
    def _rate_campaigns_have_a_scale(self) -> Campaign:
        if self.kind == "rate" and self.scale is None:
            self.scale = DEFAULT_SCALE
        elif self.kind != "rate" and self.scale is not None:
            raise ValueError(f"only rate campaigns have a rating scale, not {self.kind} ones")
        return self

    def rating_scale(self) -> Scale:
        """The scale this rate campaign's scores are on."""
        if self.kind != "rate" or self.scale is None:
            raise EIBenchError(f"campaign {self.name!r} is not a rate campaign")
        return get_scale(self.scale)


class ReviewItem(BaseModel):
    """One thing to review: a sample (or a CFSA draft) with its triggers, and for audits the
    model answer."""

    item_id: str = Field(description="the sample id, or the annotation id for CFSA drafts")
    split: str
    image: str
    emotion: str
    question: str
    triggers: list[str]
    answer: str | None = None
    batch: str | None = Field(None, description="refine: the annotation batch")


class TriggerEdit(BaseModel):
    """A trigger after refinement: its text, where it came from, and a flag if removed."""

    text: str
    original: int | None = Field(None, description="1-based index in the draft; None if added")
    flag: Literal["hallucinated", "irrelevant"] | None = None


class Response(BaseModel):
    """A rater's answer on one item. rate: `score`; refine: `triggers` and `decision`;
    audit: `covered` (one per ground-truth trigger)."""

    kind: Kind
    rater: str
    item_id: str
    score: int | None = Field(None, ge=0, le=5, description="on the campaign's scale")
    covered: list[bool] | None = None
    triggers: list[TriggerEdit] | None = None
    decision: Literal["accept", "reject"] | None = None
    note: str = ""
    created_at: str = ""

    def kept_triggers(self) -> list[str]:
        """refine: the triggers that stay (not flagged, not empty)."""
        return [t.text.strip() for t in self.triggers or [] if t.flag is None and t.text.strip()]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh login token (or session id): 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def create_campaign(
    store: Store, campaign: Campaign, items: list[ReviewItem], deliver: Deliver | None = None
) -> dict[str, str]:
    """Store the campaign and its items; returns a fresh login token per rater (only its hash
    is stored, so the tokens are shown once).

    deliver: called with the tokens before the campaign is committed; when it raises (the
    links could not be written out), nothing is stored."""
    check_name(campaign.name, "campaign")
    for rater in campaign.raters:
        check_name(rater, "rater")
    if not items:
        raise EIBenchError(f"campaign {campaign.name!r} would have no items")
    if not campaign.raters or len(set(campaign.raters)) != len(campaign.raters):
        raise EIBenchError("--raters needs one or more distinct names")
    if tables.campaign_exists(store, campaign.name):
        raise EIBenchError(f"a campaign named {campaign.name!r} exists; choose another --name")
    tokens = {rater: new_token() for rater in campaign.raters}
    # validated again: a copy made with `model_copy` may lack the scale a rate campaign needs
    record = Campaign.model_validate(campaign.model_dump() | {"created_at": now()})
    tables.put_campaign(
        store,
        campaign.name,
        campaign.kind,
        record.model_dump_json(),
        {rater: token_hash(token) for rater, token in tokens.items()},
        [(item.item_id, item.model_dump_json()) for item in items],
        before_commit=None if deliver is None else lambda: deliver(tokens),
    )
    return tokens


def login(store: Store, token: str) -> tuple[Campaign, str] | None:
    """The (campaign, rater) a login token belongs to, or None (also when revoked)."""
    found = tables.token_owner(store, token_hash(token))
    if found is None:
        return None
    campaign, rater = found
    return get_campaign(store, campaign), rater


def get_campaign(store: Store, name: str) -> Campaign:
    record = tables.campaign_record(store, name)
    if record is None:
        raise EIBenchError(f"no review campaign named {name!r}")
    return Campaign.model_validate_json(record)


def campaign_names(store: Store) -> list[str]:
    return tables.campaign_names(store)


def items(store: Store, campaign: str) -> list[ReviewItem]:
    return [ReviewItem.model_validate_json(r) for r in tables.item_records(store, campaign)]


def add_response(store: Store, campaign: str, response: Response) -> None:
    """Append a response (committed at once); earlier ones on the item stay as history. A score
    off the campaign's scale is refused (`scales.OutOfScale`), nothing stored."""
    if response.score is not None:
        get_campaign(store, campaign).rating_scale().check(response.score)
    record = response.model_copy(update={"created_at": now()})
    tables.add_response(store, campaign, response.rater, response.item_id, record.model_dump_json())


def responses(
    store: Store, campaign: str, rater: str | None = None, *, history: bool = False
) -> list[Response]:
    """The responses of a campaign (of one rater): the current one per (rater, item), or every
    response in order with `history`."""
    records = tables.response_records(store, campaign, rater)
    found = [Response.model_validate_json(r) for r in records]
    if history:
        return found
    current: dict[tuple[str, str], Response] = {}
    for r in found:
        current[(r.rater, r.item_id)] = r
    return list(current.values())
