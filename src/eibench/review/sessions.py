"""Signed-in sessions of the review app, kept in the run store: opening a login link makes a
random session id (the cookie); only its hash is stored, with the rater, campaign and time.
Signing out deletes the row, so the old cookie no longer opens anything; reissuing or revoking
a rater's link (`review.tokens`) deletes all of that rater's sessions."""

from __future__ import annotations

from dataclasses import dataclass

from eibench.review.campaigns import Campaign, get_campaign, new_token, token_hash
from eibench.store import Store
from eibench.store import review as tables


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
    tables.add_session(store, token_hash(session_id), campaign, rater)
    return session_id


def find_session(store: Store, session_id: str) -> Owner | None:
    """The owner of the session `session_id`, or None when there is no such session."""
    digest = token_hash(session_id)
    found = tables.session_owner(store, digest)
    if found is None:
        return None
    campaign, rater = found
    return Owner(get_campaign(store, campaign), rater, digest)


def close_session(store: Store, id_hash: str) -> None:
    """End the session whose id hashes to `id_hash` (committed at once)."""
    tables.delete_session(store, id_hash)


def session_counts(store: Store, campaign: str) -> dict[str, int]:
    """rater -> how many sessions they have open in `campaign`."""
    return tables.session_counts(store, campaign)
