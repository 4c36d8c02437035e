"""CFSA end to end: `eibench annotate` against a loopback server with stage-aware replies,
resume, export and re-load, CFSA as a run setting, and the real `hf:` path on a tiny LLaVA."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eibench.data import load_split
from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer, RecordedRequest, all_text, request_text
from tests.release_factory import make_images
from tests.tiny_vlm import tiny_llava_dir

__all__ = ["tiny_llava_dir"]

KEYS = [
    "EmoSet-118k/image/excitement/excitement_00001.jpg",
    "EmoSet-118k/image/sadness/sadness_00002.jpg",
    "CAER-S/train/Angry/0003.png",
]
STAGE_MARKERS = {
    "question": ("Rewrite it as one clear and complete question", "Write the question that a user"),
    "reconstruct": ("A user asked this question about a person in it",),
    "general": ("answer a general question about it",),
    "scenario_questions": ("The aim is to explain why a person",),
    "scenario_answer": ("answer one question about it",),
    "summary": ("Turn the notes below into the list of emotional triggers",),
    "verify": ("An annotator proposed this emotional trigger",),
}


def stage_of(body: Any) -> str:
    text = request_text(body)
    for stage, markers in STAGE_MARKERS.items():
        if any(m in text for m in markers):
            return stage
    raise AssertionError(f"unknown stage: {text[:200]}")


def reply(body: Any) -> str:
    stage = stage_of(body)
    if stage == "question":
        return "Question: What might have caused the person in the image to feel this way?"
    if stage == "reconstruct":
        return "Why does the woman in the red coat, standing by the gate, feel this way?"
    if stage == "general":
        return "Two people stand close together; the woman smiles."
    if stage == "scenario_questions":
        return "1. What is the woman holding?\n2. Who is she looking at?\n3. Where are they?"
    if stage == "scenario_answer":
        return "She holds a small gift box."
    if stage == "summary":
        return (
            "Here are the triggers:\n1. Holding a gift box.\n2. Smiling at a friend.\n"
            "3. holding a gift box\n4. NOTVISIBLE fireworks in the sky.\n"
        )
    text = request_text(body)
    return "No, the image does not show it." if "NOTVISIBLE" in text else "Yes, clearly."


@pytest.fixture
def server():
    with FakeServer(Behaviour(reply=reply)) as srv:
        yield srv


@pytest.fixture
def images(tmp_path: Path) -> Path:
    return make_images(tmp_path / "images", KEYS)


def annotate(capsys, server: FakeServer, images: Path, ws: Path, *args: str):
    return invoke(
        capsys, "annotate", "--images", str(images), "--emotion-from-path", "--vlm",
        "openai:vlm", "--llm", "openai:llm", "--base-url", server.openai_url,
        "--workspace", str(ws), *args,
    )  # fmt: skip


def sequence(requests: list[RecordedRequest]) -> list[tuple[str, str, bool]]:
    """(stage, model, carries an image) per request, in arrival order."""
    out = []
    for r in requests:
        has_image = "image_url" in json.dumps(r.body.get("messages", []))
        out.append((stage_of(r.body), r.model or "", has_image))
    return out


def test_annotate_runs_every_stage_with_the_right_model_and_stores_drafts(
    capsys, server: FakeServer, images: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    ws = tmp_path / "ws"
    result = annotate(capsys, server, images, ws, "--verify", "--concurrency", "1")
    assert result.code == 0, result.err
    per_image = (
        1 + 1 + 4 + 1 + 3 + 1 + 3
    )  # question, reconstruct, general, scenario, summary, verify
    assert server.count == per_image * len(KEYS)
    first = sequence(server.requests[:per_image])
    assert [s for s, _, _ in first] == (
        ["question", "reconstruct"] + ["general"] * 4 + ["scenario_questions"]
        + ["scenario_answer"] * 3 + ["summary"] + ["verify"] * 3
    )  # fmt: skip
    for stage, model, has_image in first:
        llm_stage = stage in ("question", "summary")
        assert model == ("llm" if llm_stage else "vlm") and has_image == (not llm_stage)
    general = [r for r in server.requests[:per_image] if stage_of(r.body) == "general"]
    assert any("How many people" in all_text(r.body) or "people" in all_text(r.body)
               for r in general)  # fmt: skip
    db = sqlite3.connect(ws / "eibench.sqlite")
    records = [json.loads(r[0]) for r in db.execute("SELECT record FROM annotations")]
    assert len(records) == 3 and {r["status"] for r in records} == {"draft"}
    excited = next(r for r in records if "excitement" in r["image"])
    assert excited["emotion"] == "excited"
    assert excited["triggers"] == [
        "Holding a gift box.",
        "Smiling at a friend.",
        "NOTVISIBLE fireworks in the sky.",
    ]  # the near-duplicate "holding a gift box" is merged, nothing else dropped
    assert excited["unsupported"] == [3]
    assert excited["usage"]["input_tokens"] > 0
    stage_rows = db.execute("SELECT COUNT(*) FROM cfsa_stages").fetchone()[0]
    assert stage_rows == per_image * len(KEYS)
    # a rerun redoes nothing
    again = annotate(capsys, server, images, ws, "--verify")
    assert again.code == 0 and server.count == per_image * len(KEYS)


def test_a_failed_stage_resumes_without_redoing_finished_stages(
    capsys, server: FakeServer, images: Path, tmp_path: Path, monkeypatch
) -> None:
    from starlette.responses import JSONResponse

    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")

    def fail_summaries(record: RecordedRequest) -> JSONResponse | None:
        if stage_of(record.body) == "summary":
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=400)
        return None

    server.behaviour.hook = fail_summaries
    ws = tmp_path / "ws"
    result = annotate(capsys, server, images, ws)
    assert result.code == 1 and "--retry-failed" in result.err
    before = server.count
    server.behaviour.hook = None
    server.reset()
    again = annotate(capsys, server, images, ws, "--retry-failed", "--no-cache")
    assert again.code == 0, again.err
    assert [stage_of(r.body) for r in server.requests] == ["summary"] * len(KEYS)
    assert before == len(KEYS) * (1 + 1 + 4 + 1 + 3 + 1)


def test_export_release_loads_as_a_dataset_and_jsonl_round_trips(
    capsys, server: FakeServer, images: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    ws = tmp_path / "ws"
    assert annotate(capsys, server, images, ws).code == 0
    out = tmp_path / "release"
    exported = invoke(capsys, "annotate", "export", "--format", "release", "--out", str(out),
                      "--workspace", str(ws))  # fmt: skip
    assert exported.code == 0, exported.err
    basic = load_split(out, "basic")
    assert sorted(s.image for s in basic.samples) == sorted(KEYS)
    assert all(s.triggers[0] == "Holding a gift box." for s in basic.samples)
    assert all(s.question.endswith("?") for s in basic.samples)
    assert len(load_split(out, "complex").samples) == len(KEYS)
    checked = invoke(capsys, "data", "check", "--data", str(out), "--images", str(images))
    assert checked.code in (0, 1), checked.err
    dump = tmp_path / "batch.jsonl"
    assert invoke(capsys, "annotate", "export", "--format", "jsonl", "--out", str(dump),
                  "--workspace", str(ws)).code == 0  # fmt: skip
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(records) == 3 and all(len(r["stages"]) == 11 for r in records)
    records[0]["annotation"]["status"] = "rejected"
    dump.write_text("".join(json.dumps(r) + "\n" for r in records))
    imported = invoke(capsys, "annotate", "import", str(dump), "--batch", "copy",
                      "--workspace", str(ws))  # fmt: skip
    assert imported.code == 0, imported.err
    db = sqlite3.connect(ws / "eibench.sqlite")
    statuses = sorted(r[0] for r in db.execute("SELECT status FROM annotations WHERE batch='copy'"))
    assert statuses == ["draft", "draft", "rejected"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"annotation": {"id": 1}}\n')
    failed = invoke(capsys, "annotate", "import", str(bad), "--workspace", str(ws))
    assert failed.code == 2 and "bad.jsonl:1" in failed.err


def test_cfsa_as_a_run_setting_answers_with_the_trigger_list(
    capsys, server: FakeServer, tmp_path: Path, release_dir: Path, release_images: Path,
    monkeypatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    ws = tmp_path / "ws"
    result = invoke(
        capsys, "run", "--model", "openai:vlm", "--setting", "cfsa", "--cfsa-llm", "openai:llm",
        "--base-url", server.openai_url, "--images", str(release_images), "--data",
        str(release_dir), "--workspace", str(ws), "--limit", "2", "--run", "c",
    )  # fmt: skip
    assert result.code == 0, result.err
    db = sqlite3.connect(ws / "eibench.sqlite")
    answers = [r[0] for r in db.execute("SELECT clean FROM generations WHERE run = 'c'")]
    assert len(answers) == 2 and all(a.startswith("1. Holding a gift box.") for a in answers)
    stage_count = db.execute(
        "SELECT COUNT(*) FROM cfsa_stages WHERE owner LIKE 'run:c:%'"
    ).fetchone()[0]
    assert stage_count == 2 * (1 + 1 + 4 + 1 + 3 + 1)
    tokens = db.execute("SELECT SUM(input_tokens) FROM generations WHERE run='c'").fetchone()[0]
    assert tokens > 0
    # the user's question was given: the LLM enriched it (never generated one)
    questions = [r for r in server.requests if stage_of(r.body) == "question"]
    assert all("Rewrite it" in request_text(r.body) for r in questions)


def test_tiny_llava_drives_every_stage_through_the_hf_path(
    capsys, tiny_llava_dir: Path, images: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    spec = "hf:" + str(tiny_llava_dir)
    result = invoke(
        capsys, "annotate", "--images", str(images), "--emotion", "happy", "--vlm", spec,
        "--workspace", str(ws), "--limit", "1", "--max-tokens", "8",
    )  # fmt: skip
    assert result.code in (0, 1), result.err  # random text may hold no trigger list
    db = sqlite3.connect(ws / "eibench.sqlite")
    stages = [json.loads(r[0]) for r in db.execute("SELECT record FROM cfsa_stages")]
    names = {s["stage"] for s in stages}
    assert {"question", "reconstruct", "general", "scenario_questions", "summary"} <= names
    assert all(s["model"] == spec and s["status"] == "ok" for s in stages)
    (status,) = db.execute("SELECT status FROM annotations").fetchone()
    assert status in ("draft", "failed")


def test_kill_9_mid_batch_then_rerun_redoes_no_finished_stage(images: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    many = [f"EmoSet-118k/image/amusement/amusement_{i:05d}.jpg" for i in range(12)]
    root = make_images(tmp_path / "many", many)
    ws = tmp_path / "ws"
    db_path = ws / "eibench.sqlite"
    with FakeServer(Behaviour(reply=reply, latency=0.05)) as server:
        command = [
            sys.executable, "-m", "eibench", "annotate", "--images", str(root), "--emotion",
            "amused", "--vlm", "openai:vlm", "--base-url", server.openai_url, "--workspace",
            str(ws), "--concurrency", "2",
        ]  # fmt: skip
        env = {**os.environ, "OPENAI_API_KEY": "sk-local"}
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        def stored() -> int:
            if not db_path.exists():
                return 0
            try:
                db = sqlite3.connect(db_path)
                return int(db.execute("SELECT COUNT(*) FROM cfsa_stages").fetchone()[0])
            except sqlite3.OperationalError:
                return 0

        deadline = time.monotonic() + 60
        while stored() < 40 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        kept = stored()
        assert 40 <= kept < 12 * 11, kept
        sent_before = server.count
        done = subprocess.run(
            [*command, "--no-cache"], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT COUNT(*) FROM annotations WHERE status='draft'").fetchone()[0] == 12
    assert db.execute("SELECT COUNT(*) FROM cfsa_stages").fetchone()[0] == 12 * 11
    # the rerun asks only for the stages not stored (those in flight at the kill are redone)
    resent = server.count - sent_before
    assert 12 * 11 - kept <= resent <= 12 * 11 - kept + 2 * 5


def test_mine_questions_keeps_the_most_frequent_clusters(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    keys = [f"EmoSet-118k/image/awe/awe_{i:05d}.jpg" for i in range(6)]
    root = make_images(tmp_path / "imgs", keys)
    proposals = [
        "How many people are in the image?",
        "What facial expressions do the people show?",
        "What is the body language of the people?",
        "What time of day is it?",
    ]

    def mine_reply(body: Any) -> str:
        return "\n".join(f"{i}. {q}" for i, q in enumerate(proposals, 1))

    with FakeServer(Behaviour(reply=mine_reply)) as server:
        out = tmp_path / "general.txt"
        result = invoke(
            capsys, "cfsa", "mine-questions", "--images", str(root), "--llm", "openai:m",
            "--base-url", server.openai_url, "--k", "3", "--workspace", str(tmp_path / "ws"),
            "--out", str(out),
        )  # fmt: skip
        assert result.code == 0, result.err
        assert server.count == 6
    assert "24 proposed" in result.out
    chosen = out.read_text().splitlines()
    assert len(chosen) == 3 and "How many people are in the image?" in chosen
