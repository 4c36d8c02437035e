"""The store's review tables: campaigns, their items and raters (login tokens stored as hashes),
responses (append-only: the latest of a rater on an item is the current one), signed-in
sessions (stored as hashes of their ids) and revoked raters.

Records are kept as the JSON that `eibench.review` writes; these functions move them in and
out and leave their meaning to `review`. SQLite failures pass through as they are: the review
app tells a full disk apart from a bug itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from eibench.store.db import Store
from eibench.store.tables import now

Hook = Callable[[], None]


def campaign_exists(store: Store, name: str) -> bool:
    query = "SELECT 1 FROM review_campaigns WHERE name = ?"
    return store._db.execute(query, (name,)).fetchone() is not None


def put_campaign(
    store: Store,
    name: str,
    kind: str,
    record: str,
    token_hashes: Mapping[str, str],
    items: Sequence[tuple[str, str]],
    before_commit: Hook | None = None,
) -> None:
    """Store a campaign with its raters (rater -> token hash) and items ((item id, record), in
    order), committed together. before_commit: called last inside the transaction; when it
    raises, nothing is stored."""
    with store._committed() as db:
        db.execute(
            "INSERT INTO review_campaigns (name, kind, record) VALUES (?, ?, ?)",
            (name, kind, record),
        )
        db.executemany(
            "INSERT INTO review_raters (campaign, rater, token_hash) VALUES (?, ?, ?)",
            [(name, rater, digest) for rater, digest in token_hashes.items()],
        )
        db.executemany(
            "INSERT INTO review_items (campaign, position, item_id, record) VALUES (?, ?, ?, ?)",
            [(name, i, item_id, item) for i, (item_id, item) in enumerate(items)],
        )
        if before_commit is not None:
            before_commit()


def campaign_record(store: Store, name: str) -> str | None:
    query = "SELECT record FROM review_campaigns WHERE name = ?"
    row = store._db.execute(query, (name,)).fetchone()
    return None if row is None else str(row["record"])


def campaign_names(store: Store) -> list[str]:
    return [r["name"] for r in store._db.execute("SELECT name FROM review_campaigns")]


def item_records(store: Store, campaign: str) -> list[str]:
    """The campaign's items, in order."""
    rows = store._db.execute(
        "SELECT record FROM review_items WHERE campaign = ? ORDER BY position", (campaign,)
    )
    return [r["record"] for r in rows]


def add_response(store: Store, campaign: str, rater: str, item_id: str, record: str) -> None:
    """Append a response, committed at once."""
    store._db.execute(
        "INSERT INTO review_responses (campaign, rater, item_id, record) VALUES (?, ?, ?, ?)",
        (campaign, rater, item_id, record),
    )


def response_records(store: Store, campaign: str, rater: str | None = None) -> list[str]:
    """Every response of the campaign (of one rater), in the order they came."""
    rows = store._db.execute(
        "SELECT record FROM review_responses WHERE campaign = ? AND rater = COALESCE(?, rater) "
        "ORDER BY id",
        (campaign, rater),
    )
    return [r["record"] for r in rows]


def token_owner(store: Store, token_hash: str) -> tuple[str, str] | None:
    """The (campaign, rater) whose login token hashes to `token_hash`, unless revoked."""
    row = store._db.execute(
        "SELECT campaign, rater FROM review_raters AS r WHERE token_hash = ? AND NOT EXISTS "
        "(SELECT 1 FROM review_revoked AS v WHERE v.campaign = r.campaign AND v.rater = r.rater)",
        (token_hash,),
    ).fetchone()
    return None if row is None else (row["campaign"], row["rater"])


def revoked_raters(store: Store, campaign: str) -> set[str]:
    rows = store._db.execute("SELECT rater FROM review_revoked WHERE campaign = ?", (campaign,))
    return {r["rater"] for r in rows}


def replace_tokens(
    store: Store,
    campaign: str,
    token_hashes: Mapping[str, str],
    *,
    revoke: bool,
    before_commit: Hook | None = None,
) -> None:
    """Give raters new token hashes (rater -> hash) and end their sessions, committed together;
    `revoke` marks them revoked, else any revocation is lifted. before_commit: called last
    inside the transaction; when it raises, nothing changes."""
    with store._committed() as db:
        for rater, digest in token_hashes.items():
            key = (campaign, rater)
            db.execute(
                "UPDATE review_raters SET token_hash = ? WHERE campaign = ? AND rater = ?",
                (digest, *key),
            )
            if revoke:
                db.execute(
                    "INSERT OR REPLACE INTO review_revoked (campaign, rater, revoked_at) "
                    "VALUES (?, ?, ?)",
                    (*key, now()),
                )
            else:
                db.execute("DELETE FROM review_revoked WHERE campaign = ? AND rater = ?", key)
            db.execute("DELETE FROM review_sessions WHERE campaign = ? AND rater = ?", key)
        if before_commit is not None:
            before_commit()


def add_session(store: Store, id_hash: str, campaign: str, rater: str) -> None:
    """Store a session of `rater` in `campaign` by the hash of its id, committed at once."""
    store._db.execute(
        "INSERT INTO review_sessions (id_hash, campaign, rater, created_at) VALUES (?, ?, ?, ?)",
        (id_hash, campaign, rater, now()),
    )


def session_owner(store: Store, id_hash: str) -> tuple[str, str] | None:
    """The (campaign, rater) of the session whose id hashes to `id_hash`."""
    row = store._db.execute(
        "SELECT campaign, rater FROM review_sessions WHERE id_hash = ?", (id_hash,)
    ).fetchone()
    return None if row is None else (row["campaign"], row["rater"])


def delete_session(store: Store, id_hash: str) -> None:
    store._db.execute("DELETE FROM review_sessions WHERE id_hash = ?", (id_hash,))


def session_counts(store: Store, campaign: str) -> dict[str, int]:
    """rater -> how many sessions they have open in `campaign`."""
    rows = store._db.execute(
        "SELECT rater, COUNT(*) AS n FROM review_sessions WHERE campaign = ? GROUP BY rater",
        (campaign,),
    )
    return {r["rater"]: r["n"] for r in rows}
