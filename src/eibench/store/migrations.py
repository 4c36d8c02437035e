"""The run store's layout, as a chain of migrations: migration N takes a store from version N-1
to version N. `PRAGMA user_version` records the version a store is at; opening a store runs
the migrations it lacks, each in its own transaction (so a store is always at one version).

A migration is never edited once released: a new layout is a new migration at the end.
Every table is created `IF NOT EXISTS`, so a store written before versions existed (version 0,
its tables already there) upgrades in place without losing a row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from eibench.errors import EIBenchError

Migration = Callable[[sqlite3.Connection], None]

_RUN_TABLES = (
    """CREATE TABLE IF NOT EXISTS runs (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS generations (
    run TEXT NOT NULL REFERENCES runs(name),
    sample_id TEXT NOT NULL,
    image TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    raw TEXT,
    clean TEXT,
    prompt TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    latency REAL NOT NULL,
    attempts INTEGER NOT NULL,
    cached INTEGER NOT NULL,
    error_kind TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run, sample_id)
)""",
    """CREATE TABLE IF NOT EXISTS captions (
    key TEXT PRIMARY KEY,
    captioner TEXT NOT NULL,
    image TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS judgings (
    run TEXT NOT NULL REFERENCES runs(name),
    judge TEXT NOT NULL,
    protocol TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run, judge, protocol)
)""",
    """CREATE TABLE IF NOT EXISTS judgments (
    run TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    judge TEXT NOT NULL,
    protocol TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'judge_unparsed', 'failed')),
    answer_digest TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run, sample_id, judge, protocol),
    FOREIGN KEY (run, judge, protocol) REFERENCES judgings(run, judge, protocol)
)""",
    """CREATE TABLE IF NOT EXISTS answer_metrics (
    run TEXT NOT NULL REFERENCES runs(name),
    sample_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    encoder TEXT NOT NULL,
    answer_digest TEXT NOT NULL,
    value REAL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run, sample_id, metric, encoder)
)""",
    """CREATE TABLE IF NOT EXISTS annotations (
    batch TEXT NOT NULL,
    id TEXT NOT NULL,
    image TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (batch, id)
)""",
    """CREATE TABLE IF NOT EXISTS cfsa_stages (
    owner TEXT NOT NULL,
    stage TEXT NOT NULL,
    idx INTEGER NOT NULL,
    record TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, stage, idx)
)""",
    """CREATE TABLE IF NOT EXISTS call_cache (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL
)""",
)

_REVIEW_TABLES = (
    """CREATE TABLE IF NOT EXISTS review_campaigns (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    record TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS review_raters (
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    rater TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    PRIMARY KEY (campaign, rater)
)""",
    """CREATE TABLE IF NOT EXISTS review_items (
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (campaign, position),
    UNIQUE (campaign, item_id)
)""",
    """CREATE TABLE IF NOT EXISTS review_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    rater TEXT NOT NULL,
    item_id TEXT NOT NULL,
    record TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS review_sessions (
    id_hash TEXT PRIMARY KEY,
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    rater TEXT NOT NULL,
    created_at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS review_sessions_rater ON review_sessions (campaign, rater)",
    """CREATE TABLE IF NOT EXISTS review_revoked (
    campaign TEXT NOT NULL REFERENCES review_campaigns(name),
    rater TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    PRIMARY KEY (campaign, rater)
)""",
)

EMPTY_REPLY = "empty_reply"


def _create(db: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    # one statement at a time: `executescript` would commit the migration's transaction
    for statement in statements:
        db.execute(statement)


def _v1_every_table_and_no_empty_answers(db: sqlite3.Connection) -> None:
    """Version 1: every table (review campaigns, sessions and revocations included). Before
    it, an empty reply was stored as an answer and cached; it becomes a retryable failure, and
    leaves the cache."""
    _create(db, _RUN_TABLES + _REVIEW_TABLES)
    db.execute(
        "UPDATE generations SET status = 'failed', error_kind = ?, error_message = ? "
        "WHERE status = 'ok' AND TRIM(COALESCE(raw, '')) = ''",
        (EMPTY_REPLY, "the model returned an empty reply"),
    )
    db.execute(
        "DELETE FROM call_cache WHERE TRIM(COALESCE(json_extract(response, '$.text'), '')) = ''"
    )


def _v2_review_tables_of_early_v1_stores(db: sqlite3.Connection) -> None:
    """Version 2: the first eibench to number versions marked new stores version 1 but made
    the review tables only when they were first used; such a store gets them now (a no-op for
    a store that version 1 above made)."""
    _create(db, _REVIEW_TABLES)


def _v3_rate_campaigns_keep_their_0_to_5_scale(db: sqlite3.Connection) -> None:
    """Version 3: a rate campaign stores its rating scale (new ones default to the paper's
    1-5). Campaigns made before were rated 0-5: their records say so now."""
    db.execute(
        "UPDATE review_campaigns SET record = json_set(record, '$.scale', '0-5') "
        "WHERE kind = 'rate' AND COALESCE(json_type(record, '$.scale'), 'null') = 'null'"
    )


MIGRATIONS: tuple[Migration, ...] = (
    _v1_every_table_and_no_empty_answers,
    _v2_review_tables_of_early_v1_stores,
    _v3_rate_campaigns_keep_their_0_to_5_scale,
)
SCHEMA_VERSION = len(MIGRATIONS)


def version(db: sqlite3.Connection) -> int:
    """The version the store's rows and tables are at (`PRAGMA user_version`)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the store at `path` to `SCHEMA_VERSION`, one committed migration at a time. A
    store from a newer eibench is refused, never downgraded. Another process may be migrating
    the same store: each step checks the version again once it holds the write lock."""
    found = version(db)
    if found > SCHEMA_VERSION:
        raise EIBenchError(
            f"{path}: this run store is at version {found}, made by a newer eibench (this one "
            f"knows versions up to {SCHEMA_VERSION}); upgrade eibench to open it"
        )
    for number in range(found + 1, SCHEMA_VERSION + 1):
        with db:
            db.execute("BEGIN IMMEDIATE")
            if version(db) < number:
                MIGRATIONS[number - 1](db)
                db.execute(f"PRAGMA user_version = {number}")
