"""kill -9 at any moment loses nothing committed and never duplicates a sample; the same
command finishes the rest. Also the local transformers path end to end."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return sqlite3.connect(db).execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_kill_9_then_rerun_finishes_with_exactly_one_generation_per_sample(
    release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    db = ws / "eibench.sqlite"
    with FakeServer(Behaviour(latency=0.05)) as server:
        command = [
            sys.executable,
            "-m",
            "eibench",
            "run",
            "--model",
            "openai:m",
            "--base-url",
            server.openai_url,
            "--data",
            str(release_dir),
            "--images",
            str(release_images),
            "--workspace",
            str(ws),
            "--concurrency",
            "16",
            "--run",
            "k",
        ]
        env = {**os.environ, "OPENAI_API_KEY": "sk-local"}
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while _count(db) < 300 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        committed = _count(db)
        assert 300 <= committed < 1615, committed
        sent_before = server.count

        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    rows = (
        sqlite3.connect(db)
        .execute("SELECT sample_id, status FROM generations WHERE run='k'")
        .fetchall()
    )
    assert len(rows) == 1615
    assert len({sample for sample, _ in rows}) == 1615
    assert {status for _, status in rows} == {"ok"}
    resent = server.count - sent_before
    # the rerun asks only for what was not committed (calls in flight at the kill are redone;
    # an answer cached in the instant before the kill, but not yet committed, is not asked again)
    assert 1615 - committed - 16 <= resent <= 1615 - committed + 16 + 16


def test_hf_model_answers_through_the_real_transformers_path(
    capsys, release_dir: Path, release_images: Path, tmp_path: Path, monkeypatch
) -> None:
    from tests.tiny_vlm import build_tiny_llava

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_dir = build_tiny_llava(tmp_path / "tiny-llava")
    args = (
        "run",
        "--model",
        f"hf:{model_dir}",
        "--split",
        "complex",
        "--limit",
        "4",
        "--data",
        str(release_dir),
        "--images",
        str(release_images),
        "--workspace",
        str(tmp_path / "ws"),
        "--device",
        "cpu",
        "--batch-size",
        "4",
        "--max-tokens",
        "8",
        "--run",
        "hf",
    )
    result = invoke(capsys, *args)
    assert result.code == 0, result.err
    rows = (
        sqlite3.connect(tmp_path / "ws" / "eibench.sqlite")
        .execute("SELECT status, raw, output_tokens FROM generations WHERE run='hf'")
        .fetchall()
    )
    assert len(rows) == 4
    assert all(status == "ok" and isinstance(raw, str) and 0 < n <= 8 for status, raw, n in rows)
    again = invoke(capsys, *args)
    assert again.code == 0
    assert re.search(r"answered now\s*│\s*0\s*│", again.out)
    assert re.search(r"already done\s*│\s*4\s*│", again.out)
