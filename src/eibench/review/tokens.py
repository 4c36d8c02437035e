"""A campaign's login links after it is made (`eibench review links`): reissue a rater's link
(a new token; the old one and the rater's sessions stop working) or revoke it (no link works
until one is reissued). As at creation, only a hash of each token is stored."""

from __future__ import annotations

from dataclasses import dataclass

from eibench.errors import EIBenchError
from eibench.review.campaigns import Deliver, get_campaign, new_token, token_hash
from eibench.review.sessions import session_counts
from eibench.store import Store
from eibench.store import review as tables


@dataclass(frozen=True)
class RaterAccess:
    """A rater of a campaign: whether their link is revoked, and their open sessions."""

    rater: str
    revoked: bool
    sessions: int


def rater_access(store: Store, campaign: str) -> list[RaterAccess]:
    """Every rater of `campaign` in the campaign's order, with their access."""
    info = get_campaign(store, campaign)
    revoked = tables.revoked_raters(store, campaign)
    counts = session_counts(store, campaign)
    return [RaterAccess(r, r in revoked, counts.get(r, 0)) for r in info.raters]


def _check_raters(store: Store, campaign: str, raters: list[str]) -> None:
    known = get_campaign(store, campaign).raters
    for rater in raters:
        if rater not in known:
            raise EIBenchError(
                f"campaign {campaign!r} has no rater {rater!r} (raters: {', '.join(known)})"
            )
    if len(set(raters)) != len(raters):
        raise EIBenchError("name each rater once")


def reissue(
    store: Store, campaign: str, raters: list[str], deliver: Deliver | None = None
) -> dict[str, str]:
    """New login tokens for `raters` of `campaign`: their old tokens and sessions stop working
    and a revoked rater can sign in again. Returns rater -> token.

    deliver: called with the tokens before they are committed; when it raises, nothing
    changes (the old links keep working)."""
    _check_raters(store, campaign, raters)
    tokens = {rater: new_token() for rater in raters}
    tables.replace_tokens(
        store,
        campaign,
        {rater: token_hash(token) for rater, token in tokens.items()},
        revoke=False,
        before_commit=None if deliver is None else lambda: deliver(tokens),
    )
    return tokens


def revoke(store: Store, campaign: str, raters: list[str]) -> None:
    """Stop `raters` of `campaign` signing in: their tokens are replaced by ones nobody is
    shown, their sessions end, and they are marked revoked. Their answers stay."""
    _check_raters(store, campaign, raters)
    unknown = {rater: token_hash(new_token()) for rater in raters}
    tables.replace_tokens(store, campaign, unknown, revoke=True)
