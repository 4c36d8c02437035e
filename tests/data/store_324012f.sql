-- The run store's tables as eibench 324012f made them: no PRAGMA user_version (0), and the
-- review tables created when a campaign was first used (no sessions or revocations yet).
-- Copied verbatim from that version's src/eibench/store/db.py and src/eibench/review/campaigns.py.
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
