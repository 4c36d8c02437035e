"""The run store's migration chain: a workspace written before schema versions existed opens
with every record intact, opening is idempotent, a failed migration leaves the store as it was,
a store from a newer eibench is refused rather than downgraded, and rate campaigns made before
campaigns stored a rating scale keep the 0-5 they were made with."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from eibench.errors import EIBenchError
from eibench.models.base import ChatResponse, Usage
from eibench.records.annotation import Annotation, StageRecord
from eibench.records.verdict import Verdict
from eibench.review.campaigns import (
    Campaign,
    Response,
    ReviewItem,
    add_response,
    campaign_names,
    create_campaign,
    get_campaign,
    items,
    login,
    responses,
)
from eibench.review.scales import OutOfScale
from eibench.review.sessions import find_session, open_session
from eibench.review.tokens import rater_access, revoke
from eibench.store import Generation, JudgingConfig, Judgment, RunConfig, Store, migrations
from eibench.store.annotations import (
    annotation_statuses,
    batches,
    load_annotations,
    stages,
    stored_stage,
)
from tests.cli import invoke

OLD_SCHEMA = Path(__file__).parent / "data" / "store_324012f.sql"  # the layout before versions
T = "2024-01-01T00:00:00+00:00"
CONFIG = RunConfig(model="openai:m", split="basic", setting="user", persona="emotion",
                   prompt_version="p1", dataset="d1")  # fmt: skip
JUDGING = JudgingConfig(judge="openai:j", protocol="paper-chatgpt", prompt_version="j1")
ANSWER = Generation(run="r", sample_id="s1", image="a.jpg", status="ok", raw="1. x</s>",
                    clean="1. x", prompt="why?", usage=Usage(input_tokens=5, output_tokens=3),
                    latency=1.5, attempts=2, created_at=T)  # fmt: skip
EMPTY = ANSWER.model_copy(update={"sample_id": "s2", "image": "b.jpg", "raw": "", "clean": ""})
FAILED = ANSWER.model_copy(update={"sample_id": "s3", "image": "c.jpg", "status": "failed",
                                   "raw": None, "clean": None, "error_kind": "timeout",
                                   "error_message": "slow"})  # fmt: skip
JUDGMENT = Judgment(run="r", sample_id="s1", judge="openai:j", protocol="paper-chatgpt",
                    status="ok", answer_digest="d-s1", verdict=Verdict(correct=1, total=2),
                    raw="{score: 1/2}", created_at=T)  # fmt: skip
RESPONSE = ChatResponse(text="1. x", usage=Usage(input_tokens=5, output_tokens=3))
ANNOTATION = Annotation(batch="b1", id="n1", image="a.jpg", emotion="joy", question="why?",
                        triggers=["sun", "cake"], vlm="openai:v", llm="openai:l")  # fmt: skip
STAGE = StageRecord(stage="general", index=1, role="llm", model="openai:l",
                    prompt_version="c1", input="ask", output="answer")  # fmt: skip
CAMPAIGN = Campaign(name="c", kind="rate", source="basic", raters=["a", "b"], scale="0-5",
                    created_at=T)  # fmt: skip
OLD_CAMPAIGN = CAMPAIGN.model_dump_json(exclude={"scale"})  # as stored before scales were
ITEMS = [ReviewItem(item_id=f"s{i}", split="basic", image=f"{i}.jpg", emotion="joy",
                    question="why?", triggers=["sun"]) for i in (1, 2)]  # fmt: skip
RATING = Response(kind="rate", rater="a", item_id="s1", score=4, created_at=T)
RERATING = RATING.model_copy(update={"score": 2})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _generation_row(g: Generation) -> tuple[object, ...]:
    return (g.run, g.sample_id, g.image, g.status, g.raw, g.clean, g.prompt,
            g.usage.input_tokens, g.usage.output_tokens, g.latency, g.attempts, int(g.cached),
            g.error_kind, g.error_message, g.created_at)  # fmt: skip


@contextlib.contextmanager
def _sqlite(ws: Path) -> Iterator[sqlite3.Connection]:
    """The store's file opened directly, committed when the block ends."""
    with contextlib.closing(sqlite3.connect(ws / "eibench.sqlite")) as db, db:
        yield db


def _old_rows() -> dict[str, list[tuple[object, ...]]]:
    """A record in every table, as the old version's positional inserts wrote them."""
    empty_reply = ChatResponse(text=" ").model_dump_json()
    judged = JUDGMENT.model_dump_json()
    return {
        "runs": [("r", CONFIG.model_dump_json(), T)],
        "generations": [_generation_row(g) for g in (ANSWER, EMPTY, FAILED)],
        "judgings": [("r", JUDGING.judge, JUDGING.protocol, JUDGING.model_dump_json(), T)],
        "judgments": [("r", "s1", JUDGMENT.judge, JUDGMENT.protocol, "ok", "d-s1", judged, T)],
        "answer_metrics": [("r", "s1", "coherence", "minilm", "d-s1", 0.75, T)],
        "captions": [("cap-1", "openai:c", "a.jpg", "a sunny party", T)],
        "call_cache": [
            ("k-full", "openai:m", RESPONSE.model_dump_json(), T),
            ("k-empty", "openai:m", empty_reply, T),
        ],
        "annotations": [("b1", "n1", "a.jpg", "draft", ANNOTATION.model_dump_json(), T)],
        "cfsa_stages": [("n1", "general", 1, STAGE.model_dump_json(), T)],
        "review_campaigns": [("c", "rate", OLD_CAMPAIGN)],
        "review_raters": [("c", "a", _hash("tok-a")), ("c", "b", _hash("tok-b"))],
        "review_items": [("c", i, it.item_id, it.model_dump_json()) for i, it in enumerate(ITEMS)],
        "review_responses": [
            (n, "c", "a", "s1", r.model_dump_json()) for n, r in enumerate((RATING, RERATING), 1)
        ],
    }


def _write_old_workspace(ws: Path) -> None:
    """A workspace as eibench wrote it before schema versions: its tables (the review ones
    made when a campaign was first used), a record in each, and user_version left at 0."""
    ws.mkdir(parents=True)
    with _sqlite(ws) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(OLD_SCHEMA.read_text(encoding="utf-8"))
        for table, rows in _old_rows().items():
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0


def _layout(ws: Path) -> tuple[int, list[tuple[str, str]]]:
    """The store's version and every table and index definition."""
    with _sqlite(ws) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    return version, tables


def _dump(ws: Path) -> list[str]:
    with _sqlite(ws) as db:
        return list(db.iterdump())


def test_a_workspace_from_before_versions_keeps_every_record(tmp_path: Path) -> None:
    ws = tmp_path / "old"
    _write_old_workspace(ws)
    with Store.open(ws) as store:
        assert store.run_names() == ["r"] and store.require_run("r") == CONFIG
        stored = {g.sample_id: g for g in store.generations("r")}
        assert stored["s1"] == ANSWER and stored["s3"] == FAILED
        # the one change: an empty answer becomes the retryable failure it was
        assert stored["s2"].status == "failed" and stored["s2"].error_kind == "empty_reply"
        assert store.statuses("r") == {"s1": "ok", "s2": "failed", "s3": "failed"}
        (info,) = store.runs()
        assert info.counts == {"ok": 1, "failed": 2} and info.usage.input_tokens == 15
        assert store.judgings("r") == [JUDGING]
        assert store.judgments("r") == [JUDGMENT]
        assert store.judgment_states("r", JUDGING.judge, JUDGING.protocol) == {"s1": ("ok", "d-s1")}
        assert store.metrics("r", "coherence", "minilm") == {"s1": ("d-s1", 0.75)}
        assert store.metric_encoders("r", "coherence") == ["minilm"]
        assert store.caption("cap-1") == "a sunny party"
        assert store.cached_response("k-full") == RESPONSE
        assert store.cached_response("k-empty") is None  # never served: it would be an answer
        assert batches(store) == ["b1"] and annotation_statuses(store, "b1") == {"n1": "draft"}
        assert load_annotations(store, "b1") == [ANNOTATION]
        assert stages(store, "n1") == [STAGE] and stored_stage(store, "n1", "general", 1) == STAGE
        assert campaign_names(store) == ["c"] and get_campaign(store, "c") == CAMPAIGN
        assert get_campaign(store, "c").scale == "0-5"  # what it was made with, not 1-5
        assert items(store, "c") == ITEMS
        assert responses(store, "c") == [RERATING]
        assert responses(store, "c", "a", history=True) == [RATING, RERATING]
        assert login(store, "tok-a") == (CAMPAIGN, "a")
        # the tables the old layout lacked work at once
        session = open_session(store, "c", "b")
        assert [(a.rater, a.revoked, a.sessions) for a in rater_access(store, "c")] == [
            ("a", False, 0), ("b", False, 1)]  # fmt: skip
        revoke(store, "c", ["b"])
        assert login(store, "tok-b") is None and find_session(store, session) is None
    fresh = tmp_path / "fresh"
    Store.open(fresh).close()
    assert _layout(ws) == _layout(fresh)  # the same tables as a store made today
    assert _layout(ws)[0] == migrations.SCHEMA_VERSION


@pytest.mark.parametrize("made", ["old", "fresh"])
def test_opening_a_store_again_changes_nothing(tmp_path: Path, made: str) -> None:
    ws = tmp_path / "ws"
    if made == "old":
        _write_old_workspace(ws)
    Store.open(ws).close()
    once = _layout(ws), _dump(ws)
    with Store.open(ws) as store:
        assert store.run_names() == (["r"] if made == "old" else [])
    assert (_layout(ws), _dump(ws)) == once


def test_a_first_versioned_store_without_review_tables_gets_them(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "ws"
    with Store.open(ws) as store:
        store.ensure_run("r", CONFIG)
    with _sqlite(ws) as db:  # as the first eibench to number versions left a new store
        for table in ("review_responses", "review_items", "review_raters", "review_sessions",
                      "review_revoked", "review_campaigns"):  # fmt: skip
            db.execute(f"DROP TABLE {table}")
        db.execute("PRAGMA user_version = 1")
    with Store.open(ws) as store:
        tokens = create_campaign(store, CAMPAIGN, ITEMS)
        assert login(store, tokens["a"]) is not None and store.run_names() == ["r"]
    assert _layout(ws)[0] == migrations.SCHEMA_VERSION


def test_a_store_from_a_newer_eibench_is_refused_not_downgraded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    Store.open(ws).close()
    newer = migrations.SCHEMA_VERSION + 1
    with _sqlite(ws) as db:
        db.execute(f"PRAGMA user_version = {newer}")
    with pytest.raises(EIBenchError) as info:
        Store.open(ws)
    message = str(info.value)
    assert "\n" not in message and f"version {newer}" in message and "newer eibench" in message
    assert _layout(ws)[0] == newer
    result = invoke(capsys, "runs", "--workspace", str(ws))
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip().splitlines() == [f"error: {message}"]


def test_a_migration_that_fails_leaves_the_store_at_its_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    with Store.open(ws) as store:
        store.ensure_run("r", CONFIG)
    before = _layout(ws), _dump(ws)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x TEXT)")
        db.execute("DELETE FROM runs")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", len(migrations.MIGRATIONS))
    with pytest.raises(EIBenchError, match="cannot write the run store"):
        Store.open(ws)
    assert (_layout(ws), _dump(ws)) == before


def test_rate_campaigns_from_before_scales_keep_0_to_5_and_new_ones_get_1_to_5(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "ws"
    audit = Campaign(name="au", kind="audit", source="run:r", raters=["a"], created_at=T)
    with Store.open(ws) as store:
        create_campaign(store, CAMPAIGN.model_copy(update={"name": "old"}), ITEMS)
        create_campaign(store, audit, ITEMS)
    with _sqlite(ws) as db:  # as the eibench before scales (store version 2) left them
        db.execute("UPDATE review_campaigns SET record = json_remove(record, '$.scale')")
        db.execute("PRAGMA user_version = 2")
        stored = db.execute("SELECT record FROM review_campaigns WHERE name = 'old'").fetchone()
        assert '"scale"' not in stored[0]
    with Store.open(ws) as store:
        assert get_campaign(store, "old").scale == "0-5"
        assert get_campaign(store, "au").scale is None
        add_response(store, "old", RATING.model_copy(update={"score": 0}))
        assert [r.score for r in responses(store, "old")] == [0]
        create_campaign(store, CAMPAIGN.model_copy(update={"name": "new", "scale": None}), ITEMS)
        assert get_campaign(store, "new").scale == "1-5"
    with _sqlite(ws) as db:
        stored = db.execute("SELECT record FROM review_campaigns WHERE name = 'new'").fetchone()
        assert json.loads(stored[0])["scale"] == "1-5"  # stored, never left to a default
    with Store.open(ws) as store:
        with pytest.raises(OutOfScale, match="not on the 1-5 scale"):
            add_response(store, "new", RATING.model_copy(update={"score": 0}))
        assert responses(store, "new") == []
    assert _layout(ws)[0] == migrations.SCHEMA_VERSION
