"""No committed answer is lost or overwritten, and no bad reply or image poisons a run.

Two real `eibench` processes race on one workspace; replies with `content: null`, an empty
string or a lone surrogate come from a real loopback server; a decompression bomb is a real
image file."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from starlette.responses import JSONResponse, Response

from eibench.data import load_split
from eibench.models.base import ChatResponse
from eibench.store import Generation, RunConfig, Store
from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer, RecordedRequest, default_reply
from tests.release_factory import make_images

REPO = Path(__file__).resolve().parent.parent


def _eibench(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "eibench", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "200"},
    )


def _statuses(ws: Path, run: str) -> dict[str, int]:
    db = sqlite3.connect(ws / "eibench.sqlite")
    rows = db.execute(
        "SELECT status, COUNT(*) FROM generations WHERE run = ? GROUP BY status", (run,)
    ).fetchall()
    db.close()
    return dict(rows)


def _openai_run(url: str, release: Path, images: Path, ws: Path, *extra: str) -> list[str]:
    return [
        "run", "--model", "openai:m", "--base-url", url, "--data", str(release),
        "--images", str(images), "--workspace", str(ws), "--run", "shared", "--timeout", "10",
        *extra,
    ]  # fmt: skip


def test_a_second_writer_of_a_run_is_refused_and_the_first_keeps_every_answer(
    release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    slow = FakeServer(Behaviour(latency=0.25)).start()  # 160 samples, 8 at a time: 5 s
    failing = FakeServer(Behaviour(fail_rate=1.0, fail_kind="500")).start()
    try:
        first = _eibench(
            *_openai_run(slow.openai_url, release_dir, release_images, ws, "--limit", "160")
        )
        deadline = time.monotonic() + 20
        while slow.count < 8 and time.monotonic() < deadline:  # the first one is answering
            time.sleep(0.02)
        second = _eibench(
            *_openai_run(
                failing.openai_url, release_dir, release_images, ws,
                "--limit", "160", "--max-attempts", "1",
            )
        )  # fmt: skip
        _, second_err = second.communicate(timeout=60)
        assert first.poll() is None  # the race was real: the first was still writing
        first_out, first_err = first.communicate(timeout=120)
    finally:
        slow.stop()
        failing.stop()
    assert second.returncode == 2, second_err
    assert "being written by another eibench process" in second_err
    assert f"pid {first.pid}" in second_err
    assert "Traceback" not in second_err and len(second_err.strip().splitlines()) == 1
    assert failing.count == 0  # refused before any call
    assert first.returncode == 0, first_err
    assert "answered now" in first_out and "160" in first_out
    assert _statuses(ws, "shared") == {"ok": 160}


def test_four_processes_creating_one_run_give_no_traceback_and_no_double_answer(
    release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    args = ["run", "--model", "prior", "--run", "SAME", "--limit", "20", "--data",
            str(release_dir), "--workspace", str(ws)]  # fmt: skip
    procs = [_eibench(*args) for _ in range(4)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for code, _, err in results:
        assert "Traceback" not in err and "IntegrityError" not in err, err
        assert code == 0 or (code == 2 and "being written by another" in err), (code, err)
    assert any(code == 0 for code, _, _ in results)
    assert _statuses(ws, "SAME") == {"ok": 20}


def test_the_lock_of_a_killed_run_does_not_block_its_resume(
    release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    with FakeServer(Behaviour(latency=0.05)) as server:
        args = _openai_run(server.openai_url, release_dir, release_images, ws, "--limit", "80")
        victim = _eibench(*args)
        deadline = time.monotonic() + 20
        while server.count < 16 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim.kill()
        victim.communicate(timeout=30)
        again = _eibench(*args)
        _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert _statuses(ws, "shared") == {"ok": 80}


_CONFIG = RunConfig(
    model="prior", split="basic", setting="user", persona="none", prompt_version="p", dataset="d"
)


def _store_with_answer(tmp_path: Path) -> tuple[Store, Generation]:
    store = Store.open(tmp_path / "ws")
    store.ensure_run("r", _CONFIG)
    ok = Generation(run="r", sample_id="s1", image="a.jpg", status="ok", raw="1. x", clean="1. x")
    assert store.put_generation(ok)
    return store, ok


def test_a_failure_never_replaces_a_committed_answer_but_an_answer_replaces_a_failure(
    tmp_path: Path,
) -> None:
    store, ok = _store_with_answer(tmp_path)
    failed = ok.model_copy(
        update={"status": "failed", "raw": None, "clean": None, "error_kind": "server_error"}
    )
    assert store.put_generation(failed) is False
    assert [g.status for g in store.generations("r")] == ["ok"]
    store.ensure_run("r", _CONFIG)  # idempotent
    with contextlib.closing(sqlite3.connect(store.path)) as db, db:
        db.execute("UPDATE generations SET status = 'failed'")
    assert store.put_generation(ok)
    assert [g.clean for g in store.generations("r")] == ["1. x"]
    store.close()


def _reply_hook(content: object):
    def hook(record: RecordedRequest) -> Response:
        return JSONResponse(
            {
                "id": "x", "object": "chat.completion", "created": 0, "model": "m",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
            }
        )  # fmt: skip

    return hook


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_an_empty_reply_is_a_retryable_failure_that_is_never_cached(
    capsys, content: object, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    with FakeServer(Behaviour(hook=_reply_hook(content))) as server:
        args = _openai_run(server.openai_url, release_dir, release_images, ws, "--limit", "5")
        empty = invoke(capsys, *args, "--max-attempts", "2")
        assert server.count == 10  # every sample asked twice
        assert empty.code == 1 and "empty_reply 5" in empty.err
        assert _statuses(ws, "shared") == {"failed": 5}
        server.behaviour = Behaviour()
        fresh = invoke(capsys, *args, "--run", "fresh")
        assert fresh.code == 0 and server.count == 15  # nothing empty came from the cache
        healed = invoke(capsys, *args, "--retry-failed")
        assert healed.code == 0, healed.err
        assert server.count == 15  # the failures are redone, from the good cached answers
    assert _statuses(ws, "shared") == {"ok": 5}
    with Store.open(ws) as store:
        assert all(g.clean for g in store.generations("fresh"))


def test_an_old_store_with_empty_answers_is_upgraded_to_failures(tmp_path: Path) -> None:
    store, ok = _store_with_answer(tmp_path)
    store.put_generation(ok.model_copy(update={"sample_id": "s2", "raw": "", "clean": ""}))
    store.cache_response("k-empty", "openai:m", ChatResponse(text=""))
    store.cache_response("k-full", "openai:m", ChatResponse(text="1. x"))
    store.close()
    with contextlib.closing(sqlite3.connect(store.path)) as db, db:
        db.execute("PRAGMA user_version = 0")  # as an older eibench left it
    with Store.open(tmp_path / "ws") as again:
        by_id = {g.sample_id: g for g in again.generations("r")}
        assert by_id["s1"].status == "ok"
        assert by_id["s2"].status == "failed" and by_id["s2"].error_kind == "empty_reply"
        assert again.cached_response("k-empty") is None
        assert again.cached_response("k-full") is not None


def test_a_reply_with_a_lone_surrogate_is_cleaned_and_the_run_goes_on(
    capsys, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    def hook(record: RecordedRequest) -> Response | None:
        if record.index % 20 != 7:
            return None
        text = json.dumps(default_reply(record.body))[1:-1] + " \\ud800 end"
        body = ('{"id": "x", "object": "chat.completion", "created": 0, "model": "m", '
                '"choices": [{"index": 0, "finish_reason": "stop", '
                f'"message": {{"role": "assistant", "content": "{text}"}}}}]}}')  # fmt: skip
        return Response(body.encode(), media_type="application/json")

    ws = tmp_path / "ws"
    with FakeServer(Behaviour(hook=hook)) as server:
        args = _openai_run(server.openai_url, release_dir, release_images, ws, "--limit", "40")
        first = invoke(capsys, *args)
    assert first.code == 0, first.err
    assert _statuses(ws, "shared") == {"ok": 40}
    with Store.open(ws) as store:
        cleaned = [g.raw for g in store.generations("shared") if "\ufffd" in (g.raw or "")]
    assert len(cleaned) == 2 and all(t.endswith("\ufffd end") for t in cleaned)
    out = tmp_path / "answers.jsonl"
    assert invoke(capsys, "export", "--run", "shared", "--workspace", str(ws), "--format",
                  "jsonl", "--out", str(out), "--data", str(release_dir)).code == 0  # fmt: skip
    assert out.read_text(encoding="utf-8").count("\ufffd") == 4  # raw and clean of each


def test_a_decompression_bomb_fails_its_sample_and_the_run_goes_on(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    keys = [s.image for s in load_split(release_dir, "basic").samples[:6]]
    images = make_images(tmp_path / "images", keys)
    bomb = images / keys[2]
    Image.new("1", (20000, 10000)).save(bomb, format="PNG" if bomb.suffix == ".png" else "JPEG")
    ws = tmp_path / "ws"
    with FakeServer(Behaviour()) as server:
        result = invoke(capsys, *_openai_run(server.openai_url, release_dir, images, ws,
                                             "--limit", "6"))  # fmt: skip
        assert server.count == 5
    assert result.code == 1 and "input 1" in result.err
    with Store.open(ws) as store:
        failed = [g for g in store.generations("shared") if g.status == "failed"]
    assert [g.image for g in failed] == [keys[2]]
    assert "too many pixels" in (failed[0].error_message or "")
    assert _statuses(ws, "shared") == {"ok": 5, "failed": 1}
