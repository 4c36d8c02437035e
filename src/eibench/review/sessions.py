"""Signed-in sessions of the review app, kept in the run store: opening a login link makes a
random session id (the cookie); only its hash is stored, with the rater, campaign and time.
Signing out deletes the row, so the old cookie no longer opens anything; reissuing or revoking
a rater's link (`review.tokens`) deletes all of that rater's sessions."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from eibench.review.campaigns import (
    Campaign,
    ensure_tables,
    get_campaign,
    new_token,
    now,
    token_hash,
)
from eibench.store import Store


@dataclass(frozen=True)
class Owner:
    """Whose session a session id opens: the campaign, the rater and the id's stored hash."""

    campaign: Campaign
    rater: str
    id_hash: str


def open_session(store: Store, campaign: str, rater: str) -> str:
    """A new session of `rater` in `campaign`, committed; returns its id (shown only to the
    rater's browser, as the cookie)."""
    session_id = new_token()
    store.connection.execute(
        "INSERT INTO review_sessions (id_hash, campaign, rater, created_at) VALUES (?, ?, ?, ?)",
        (token_hash(session_id), campaign, rater, now()),
    )
    return session_id


def find_session(store: Store, session_id: str) -> Owner | None:
    """The owner of the session `session_id`, or None when there is no such session."""
    ensure_tables(store)
    digest = token_hash(session_id)
    row = store.connection.execute(
        "SELECT campaign, rater FROM review_sessions WHERE id_hash = ?", (digest,)
    ).fetchone()
    if row is None:
        return None
    return Owner(get_campaign(store, row["campaign"]), row["rater"], digest)


def close_session(store: Store, id_hash: str) -> None:
    """End the session whose id hashes to `id_hash` (committed at once)."""
    store.connection.execute("DELETE FROM review_sessions WHERE id_hash = ?", (id_hash,))


def close_rater_sessions(db: sqlite3.Connection, campaign: str, rater: str) -> int:
    """End every session of `rater` in `campaign` (inside the caller's transaction); returns
    how many there were."""
    found = db.execute(
        "DELETE FROM review_sessions WHERE campaign = ? AND rater = ?", (campaign, rater)
    )
    return found.rowcount


def session_counts(store: Store, campaign: str) -> dict[str, int]:
    """rater -> how many sessions they have open in `campaign`."""
    ensure_tables(store)
    rows = store.connection.execute(
        "SELECT rater, COUNT(*) AS n FROM review_sessions WHERE campaign = ? GROUP BY rater",
        (campaign,),
    )
    return {r["rater"]: r["n"] for r in rows}
