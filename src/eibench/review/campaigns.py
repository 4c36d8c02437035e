"""Review campaigns in the run store: the items people review, their raters (login tokens stored
hashed), and every response, append-only (the latest response of a rater on an item is the
current one; earlier ones stay as history). Signed-in sessions and revoked raters have tables
of their own (`review.sessions`, `review.tokens`); every table here is created if missing, so
older workspaces keep working."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from eibench.errors import EIBenchError
from eibench.review.names import check_name
from eibench.store import Store

Kind = Literal["rate", "refine", "audit"]
KINDS: tuple[str, ...] = ("rate", "refine", "audit")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_campaigns (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_raters (
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    rater TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    PRIMARY KEY (campaign, rater)
);
CREATE TABLE IF NOT EXISTS review_items (
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (campaign, position),
    UNIQUE (campaign, item_id)
);
CREATE TABLE IF NOT EXISTS review_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    rater TEXT NOT NULL,
    item_id TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_sessions (
    id_hash TEXT PRIMARY KEY,
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    rater TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_sessions_rater ON review_sessions (campaign, rater);
CREATE TABLE IF NOT EXISTS review_revoked (
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    rater TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    PRIMARY KEY (campaign, rater)
);
"""

Deliver = Callable[[dict[str, str]], None]


class Campaign(BaseModel):
    name: str
    kind: Kind
    source: str = Field(description="basic, complex, annotations[:BATCH] or run:NAME")
    raters: list[str]
    created_at: str = ""


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
    score: int | None = Field(None, ge=0, le=5)
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


def ensure_tables(store: Store) -> None:
    store.connection.executescript(_SCHEMA)


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
    ensure_tables(store)
    check_name(campaign.name, "campaign")
    for rater in campaign.raters:
        check_name(rater, "rater")
    if not items:
        raise EIBenchError(f"campaign {campaign.name!r} would have no items")
    if not campaign.raters or len(set(campaign.raters)) != len(campaign.raters):
        raise EIBenchError("--raters needs one or more distinct names")
    db = store.connection
    if db.execute("SELECT 1 FROM review_campaigns WHERE name = ?", (campaign.name,)).fetchone():
        raise EIBenchError(f"a campaign named {campaign.name!r} exists; choose another --name")
    tokens = {rater: new_token() for rater in campaign.raters}
    record = campaign.model_copy(update={"created_at": now()})
    with db:
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO review_campaigns VALUES (?, ?, ?)",
            (campaign.name, campaign.kind, record.model_dump_json()),
        )
        db.executemany(
            "INSERT INTO review_raters VALUES (?, ?, ?)",
            [(campaign.name, r, token_hash(t)) for r, t in tokens.items()],
        )
        db.executemany(
            "INSERT INTO review_items VALUES (?, ?, ?, ?)",
            [(campaign.name, i, it.item_id, it.model_dump_json()) for i, it in enumerate(items)],
        )
        if deliver is not None:
            deliver(tokens)
    return tokens


def login(store: Store, token: str) -> tuple[Campaign, str] | None:
    """The (campaign, rater) a login token belongs to, or None (also when revoked)."""
    ensure_tables(store)
    row = store.connection.execute(
        "SELECT campaign, rater FROM review_raters AS r WHERE token_hash = ? AND NOT EXISTS "
        "(SELECT 1 FROM review_revoked AS v WHERE v.campaign = r.campaign AND v.rater = r.rater)",
        (token_hash(token),),
    ).fetchone()
    if row is None:
        return None
    return get_campaign(store, row["campaign"]), row["rater"]


def get_campaign(store: Store, name: str) -> Campaign:
    ensure_tables(store)
    row = store.connection.execute(
        "SELECT record FROM review_campaigns WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise EIBenchError(f"no review campaign named {name!r}")
    return Campaign.model_validate_json(row["record"])


def campaign_names(store: Store) -> list[str]:
    ensure_tables(store)
    return [r["name"] for r in store.connection.execute("SELECT name FROM review_campaigns")]


def items(store: Store, campaign: str) -> list[ReviewItem]:
    rows = store.connection.execute(
        "SELECT record FROM review_items WHERE campaign = ? ORDER BY position", (campaign,)
    )
    return [ReviewItem.model_validate_json(r["record"]) for r in rows]


def add_response(store: Store, campaign: str, response: Response) -> None:
    """Append a response (committed at once); earlier ones on the item stay as history."""
    record = response.model_copy(update={"created_at": now()})
    store.connection.execute(
        "INSERT INTO review_responses (campaign, rater, item_id, record) VALUES (?, ?, ?, ?)",
        (campaign, response.rater, response.item_id, record.model_dump_json()),
    )


def responses(
    store: Store, campaign: str, rater: str | None = None, *, history: bool = False
) -> list[Response]:
    """The responses of a campaign (of one rater): the current one per (rater, item), or every
    response in order with `history`."""
    ensure_tables(store)
    rows = store.connection.execute(
        "SELECT record FROM review_responses WHERE campaign = ? AND rater = COALESCE(?, rater) "
        "ORDER BY id",
        (campaign, rater),
    ).fetchall()
    found = [Response.model_validate_json(r["record"]) for r in rows]
    if history:
        return found
    current: dict[tuple[str, str], Response] = {}
    for r in found:
        current[(r.rater, r.item_id)] = r
    return list(current.values())
