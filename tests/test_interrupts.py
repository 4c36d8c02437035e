"""Ctrl-C and kill -9 leave nothing broken behind, and a server that trickles bytes cannot hold
a call past `--timeout`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from starlette.responses import StreamingResponse

from eibench.atomic import atomic_path
from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer, RecordedRequest
from tests.release_factory import make_images

REPO = Path(__file__).resolve().parent.parent
IMAGES = [f"sad/{i:02d}.jpg" for i in range(10)]


def _annotate_args(root: Path, ws: Path, url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "eibench", "annotate", "--images", str(root), "--emotion",
            "sadness", "--vlm", "openai:m", "--base-url", url, "--workspace", str(ws),
            "--concurrency", "4", *extra]  # fmt: skip


def _popen(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip


def test_ctrl_c_on_annotate_exits_130_without_a_traceback_and_resumes(tmp_path: Path) -> None:
    root = make_images(tmp_path / "images", IMAGES)
    ws = tmp_path / "ws"
    with FakeServer(Behaviour(latency=0.2)) as server:
        for after in (1, 3, 12, 30):  # in the first stage, and in later ones
            proc = _popen(_annotate_args(root, ws, server.openai_url))
            deadline = time.monotonic() + 30
            start = server.count
            while server.count < start + after and time.monotonic() < deadline:
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 130, (after, proc.returncode, err)
            assert "Traceback" not in err and "StageFailed" not in err, (after, err)
        done = _popen(_annotate_args(root, ws, server.openai_url))
        _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert "Traceback" not in err


def test_a_write_killed_midway_leaves_a_temporary_that_the_next_write_removes(
    tmp_path: Path,
) -> None:
    target = tmp_path / "export.jsonl"
    script = (
        "import os, sys; from pathlib import Path; from eibench.atomic import atomic_path\n"
        "with atomic_path(Path(sys.argv[1])) as tmp:\n"
        "    tmp.write_text('partial'); print('written', flush=True); os.kill(os.getpid(), 9)\n"
    )
    proc = _popen([sys.executable, "-c", script, str(target)])
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    proc.wait(timeout=30)
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".export.jsonl.")]
    assert len(left) == 1 and not target.exists()
    with atomic_path(target) as tmp:
        tmp.write_text("whole\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.jsonl"]
    assert target.read_text() == "whole\n"


def test_a_live_writers_temporary_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with atomic_path(target) as outer:
        outer.write_text("first")
        with atomic_path(tmp_path / "other.txt") as other:  # a write beside it
            other.write_text("x")
        assert outer.exists()
    assert target.read_text() == "first"


def _trickle(record: RecordedRequest) -> StreamingResponse:
    async def body():
        yield b'{"id": "x", "choices": ['
        for _ in range(600):  # a byte every 0.1 s for a minute: no read ever times out
            await asyncio.sleep(0.1)
            yield b" "

    return StreamingResponse(body(), media_type="application/json")


def test_a_trickling_server_cannot_hold_an_annotate_call_past_the_timeout(
    capsys, tmp_path: Path
) -> None:
    root = make_images(tmp_path / "images", IMAGES[:1])
    with FakeServer(Behaviour(hook=_trickle)) as server:
        started = time.monotonic()
        args = _annotate_args(root, tmp_path / "ws", server.openai_url, "--timeout", "1",
                              "--max-attempts", "1")  # fmt: skip
        result = invoke(capsys, *args[3:])
        elapsed = time.monotonic() - started
    assert result.code == 1, result.err
    assert elapsed < 10, elapsed
    assert server.count == 1


def test_every_command_that_calls_models_takes_timeout(capsys) -> None:
    for command in (["run"], ["judge"], ["annotate"], ["cfsa", "mine-questions"], ["eval"]):
        shown = invoke(capsys, *command, "--help")
        assert "--timeout" in shown.out, command


def test_a_grids_timeout_and_attempts_reach_its_runs(tmp_path: Path) -> None:
    from eibench.experiments import load_grid
    from eibench.experiments.grid import cells

    file = tmp_path / "grid.yaml"
    file.write_text("models: [{spec: prior}]\ntimeout: 7\nmax_attempts: 2\n", encoding="utf-8")
    ((request, _),) = cells(load_grid(file, None))
    assert (request.options.timeout, request.max_attempts) == (7, 2)
    ((request, _),) = cells(load_grid(file, ["timeout=3"]))
    assert request.options.timeout == 3
