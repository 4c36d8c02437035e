"""The run store's tables, its schema version, and the statements the store shares."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS generations (
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
);
CREATE TABLE IF NOT EXISTS captions (
    key TEXT PRIMARY KEY,
    captioner TEXT NOT NULL,
    image TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS judgings (
    run TEXT NOT NULL REFERENCES runs(name),
    judge TEXT NOT NULL,
    protocol TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run, judge, protocol)
);
CREATE TABLE IF NOT EXISTS judgments (
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
);
CREATE TABLE IF NOT EXISTS answer_metrics (
    run TEXT NOT NULL REFERENCES runs(name),
    sample_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    encoder TEXT NOT NULL,
    answer_digest TEXT NOT NULL,
    value REAL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run, sample_id, metric, encoder)
);
CREATE TABLE IF NOT EXISTS annotations (
    batch TEXT NOT NULL,
    id TEXT NOT NULL,
    image TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (batch, id)
);
CREATE TABLE IF NOT EXISTS cfsa_stages (
    owner TEXT NOT NULL,
    stage TEXT NOT NULL,
    idx INTEGER NOT NULL,
    record TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, stage, idx)
);
CREATE TABLE IF NOT EXISTS call_cache (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


# PRAGMA user_version: what the stored rows have been upgraded to (see `Store._migrate`).
SCHEMA_VERSION = 1
_GENERATION_COLUMNS = (
    "run",
    "sample_id",
    "image",
    "status",
    "raw",
    "clean",
    "prompt",
    "input_tokens",
    "output_tokens",
    "latency",
    "attempts",
    "cached",
    "error_kind",
    "error_message",
    "created_at",
)
# A failure never replaces a committed answer; an answer replaces anything (a retry, an import).
PUT_GENERATION = (
    f"INSERT INTO generations ({', '.join(_GENERATION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_GENERATION_COLUMNS))}) "
    "ON CONFLICT (run, sample_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _GENERATION_COLUMNS[2:])
    + " WHERE generations.status != 'ok' OR excluded.status = 'ok'"
)
EMPTY_REPLY = "empty_reply"
