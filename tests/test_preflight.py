"""The pre-flight check of `eibench run`, `judge` and `annotate` (an images folder that holds
the split's images, a server that answers and serves the model) against real loopback
servers, and the run's summary of failures per kind."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from eibench.data import load_split
from eibench.models.base import RETRYABLE
from eibench.runner.failures import advice, group_failures
from tests.cli import Result, invoke
from tests.fake_server import Behaviour, FakeServer
from tests.one_line import assert_one_line_error
from tests.release_factory import make_images


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EIBENCH_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def server():
    with FakeServer(Behaviour()) as srv:
        yield srv


@pytest.fixture
def dead_url() -> str:
    """The OpenAI URL of a server that has stopped: its port refuses connections."""
    with FakeServer() as gone:
        return gone.openai_url


def run(capsys, url: str, release_dir: Path, images: Path | None, ws: Path, *args: str) -> Result:
    extra = ("--images", str(images)) if images is not None else ("--text-only",)
    return invoke(
        capsys, "run", "--base-url", url, "--data", str(release_dir), "--workspace", str(ws),
        "--split", "complex", "--timeout", "5", *extra, *args,
    )  # fmt: skip


def count(ws: Path, table: str) -> int:
    if not (ws / "eibench.sqlite").exists():
        return 0
    db = sqlite3.connect(ws / "eibench.sqlite")
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_an_images_folder_without_the_split_images_is_refused_before_any_sample(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    ws = tmp_path / "ws"
    result = run(capsys, server.openai_url, release_dir, empty, ws, "--model", "openai:m")
    assert_one_line_error(result, f"--images {empty} holds none of the first", "image")
    assert server.count == 0
    assert count(ws, "generations") == 0 and count(ws, "runs") == 0

    absent = run(
        capsys, server.openai_url, release_dir, tmp_path / "nope", ws, "--model", "openai:m"
    )
    assert_one_line_error(absent, "nope: no such folder")


def test_a_dead_server_is_one_line_naming_its_url_and_nothing_is_stored_as_failed(
    capsys, dead_url: str, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    result = run(capsys, dead_url, release_dir, release_images, ws, "--model", "openai:m")
    assert_one_line_error(result, "pre-flight", dead_url, "connection failed", "nothing was run")
    assert count(ws, "generations") == 0 and count(ws, "runs") == 0


def test_a_model_the_server_does_not_serve_is_refused_before_any_sample(
    capsys, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    with FakeServer(Behaviour(models=frozenset({"qwen-vl"}))) as server:
        result = run(
            capsys, server.openai_url, release_dir, release_images, ws, "--model", "openai:llava"
        )
        assert_one_line_error(result, "does not serve 'llava'", "it serves: qwen-vl")
        assert server.count == 0
        assert count(ws, "generations") == 0
        served = run(
            capsys, server.openai_url, release_dir, release_images, ws, "--model",
            "openai:qwen-vl", "--limit", "2",
        )  # fmt: skip
        assert served.code == 0, served.err
        assert server.count == 2


def test_a_dead_replica_beside_a_live_one_passes_pre_flight(
    capsys, server: FakeServer, dead_url: str, release_dir: Path, tmp_path: Path
) -> None:
    result = invoke(
        capsys, "run", "--model", "openai:m", "--base-url", dead_url, "--base-url",
        server.openai_url, "--data", str(release_dir), "--workspace", str(tmp_path / "ws"),
        "--split", "complex", "--text-only", "--limit", "3", "--timeout", "5",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert server.count >= 3


def _prior_run(capsys, release_dir: Path, ws: Path) -> None:
    made = invoke(
        capsys, "run", "--split", "complex", "--limit", "3", "--run", "p", "--data",
        str(release_dir), "--workspace", str(ws),
    )  # fmt: skip
    assert made.code == 0, made.err


@pytest.mark.parametrize("problem", ["dead", "unserved"])
def test_judge_pre_flight_refuses_a_judge_that_cannot_answer(
    capsys, problem: str, dead_url: str, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    _prior_run(capsys, release_dir, ws)
    with FakeServer(Behaviour(models=frozenset({"judge-a"}))) as server:
        url = dead_url if problem == "dead" else server.openai_url
        result = invoke(
            capsys, "judge", "--run", "p", "--protocol", "paper-llama3", "--judge",
            "openai:judge-b", "--judge-base-url", url, "--data", str(release_dir),
            "--workspace", str(ws), "--timeout", "5",
        )  # fmt: skip
        expected = "connection failed" if problem == "dead" else "does not serve 'judge-b'"
        assert_one_line_error(result, "pre-flight", url, expected)
        assert server.count == 0
    assert count(ws, "judgments") == 0


def test_annotate_pre_flight_refuses_a_dead_server(capsys, dead_url: str, tmp_path: Path) -> None:
    images = make_images(tmp_path / "images", ["happiness/a.jpg", "happiness/b.jpg"])
    ws = tmp_path / "ws"
    result = invoke(
        capsys, "annotate", "--images", str(images), "--emotion-from-path", "--vlm",
        "openai:v", "--base-url", dead_url, "--workspace", str(ws), "--timeout", "5",
    )  # fmt: skip
    assert_one_line_error(result, "pre-flight", dead_url, "connection failed")
    assert count(ws, "annotations") == 0


# --- the summary of failures ------------------------------------------------------------------


def _groups(err: str) -> dict[str, tuple[int, str, str]]:
    """kind -> (count, example, advice) from the run's failure lines."""
    lines = err.splitlines()
    found = {}
    for index, line in enumerate(lines):
        match = re.fullmatch(r"  (\w+) (\d+): (.*)", line)
        if match:
            found[match[1]] = (int(match[2]), match[3], lines[index + 1].strip())
    return found


def test_failures_are_summed_up_per_kind_with_an_example_and_what_to_do(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    samples = load_split(release_dir, "complex").samples[:8]
    first = samples[0].image
    images = make_images(tmp_path / "images", [first])  # the others are missing
    server.behaviour = Behaviour(fail_first=1, fail_first_kind="500")
    ws = tmp_path / "ws"
    result = run(
        capsys, server.openai_url, release_dir, images, ws, "--model", "openai:m", "--limit",
        "8", "--max-attempts", "1", "--concurrency", "1",
    )  # fmt: skip
    assert result.code == 1
    missing = sum(s.image != first for s in samples)
    assert missing > 0
    groups = _groups(result.err)
    n, example, todo = groups["input"]
    assert n == missing and "image not found" in example
    assert todo.startswith("a retry cannot fix these") and "--images" in todo
    n, example, todo = groups["server_error"]
    assert n == 1 and server.openai_url in example and "HTTP 500" in example
    assert todo.startswith("re-run with --retry-failed")
    assert f"{missing + 1} sample(s) failed" in result.err


def test_a_retry_is_advised_only_for_kinds_a_retry_can_fix() -> None:
    for kind in RETRYABLE:
        assert advice(kind) == (True, advice(kind)[1])
        assert advice(kind)[1].startswith("re-run with --retry-failed")
        assert advice(f"caption_{kind}")[0]
    for kind in ("bad_request", "auth", "unavailable", "input", "no_triggers", "odd"):
        retryable, what = advice(kind)
        assert not retryable
        assert not what.startswith("re-run with --retry-failed"), what
        assert not advice(f"caption_{kind}")[0]
    assert "--no-cache" in advice("no_triggers")[1]
    groups = group_failures([("input", "a"), ("timeout", "t"), ("input", "b"), (None, None)])
    assert [(g.kind, g.count, g.example) for g in groups] == [
        ("input", 2, "a"), ("timeout", 1, "t"), ("unknown", 1, "(no message)"),
    ]  # fmt: skip
