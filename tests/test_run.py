"""`eibench run` against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer

SECRET = "sk-test-0123456789-SECRET"


@pytest.fixture
def server():
    with FakeServer(Behaviour()) as srv:
        yield srv


def _run(capsys, server: FakeServer, release_dir: Path, images: Path, ws: Path, *args: str):
    return invoke(
        capsys,
        "run",
        "--model",
        "openai:tiny-vlm",
        "--base-url",
        server.openai_url,
        "--data",
        str(release_dir),
        "--images",
        str(images),
        "--workspace",
        str(ws),
        "--timeout",
        "5",
        *args,
    )


def _rows(ws: Path, run: str) -> list[tuple[str, str]]:
    db = sqlite3.connect(ws / "eibench.sqlite")
    return db.execute("SELECT sample_id, status FROM generations WHERE run = ?", (run,)).fetchall()


def test_full_basic_run_then_rerun_sends_nothing(
    capsys, server: FakeServer, release_dir: Path, release_images: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    ws = tmp_path / "ws"
    result = _run(
        capsys, server, release_dir, release_images, ws, "--concurrency", "32", "--run", "r"
    )
    assert result.code == 0, result.err
    rows = _rows(ws, "r")
    assert len(rows) == 1615 and len({r[0] for r in rows}) == 1615
    assert {r[1] for r in rows} == {"ok"}
    assert server.count == 1615
    bodies = {json.dumps(b["messages"][0]["content"][1]["text"]): b for b in server.bodies()}
    assert len(bodies) > 1000  # prompts differ per question
    content = server.bodies()[0]["messages"][0]["content"]
    assert content[0]["type"] == "image_url"
    assert content[1]["text"].startswith(
        "You are a good expert of emotion understanding. Look at the image, "
    )
    media = {
        b["messages"][0]["content"][0]["image_url"]["url"].split(";")[0] for b in server.bodies()
    }
    assert media == {"data:image/jpeg", "data:image/png"}
    assert all(b["temperature"] == 0 for b in server.bodies())
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"

    again = _run(
        capsys, server, release_dir, release_images, ws, "--concurrency", "32", "--run", "r"
    )
    assert again.code == 0
    assert server.count == 1615  # nothing sent
    assert len(_rows(ws, "r")) == 1615
    # the key is in no file of the workspace and in no output
    for path in (p for p in ws.rglob("*") if p.is_file()):
        assert SECRET.encode() not in path.read_bytes()
    assert SECRET not in result.out + result.err + again.out + again.err


def test_injected_failures_are_retried_until_every_sample_is_answered(
    capsys, server: FakeServer, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    server.behaviour = Behaviour(fail_rate=0.2, fail_kind="500", seed=3)
    ws = tmp_path / "ws"
    result = _run(
        capsys,
        server,
        release_dir,
        release_images,
        ws,
        "--split",
        "complex",
        "--max-attempts",
        "8",
        "--run",
        "c",
    )
    assert result.code == 0, result.err
    assert {status for _, status in _rows(ws, "c")} == {"ok"}
    assert len(_rows(ws, "c")) == 50
    assert server.count > 50  # some calls were retried


def test_rate_limits_honour_retry_after(
    capsys, server: FakeServer, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    server.behaviour = Behaviour(fail_first=1, fail_first_kind="429", retry_after="0.6")
    result = _run(
        capsys,
        server,
        release_dir,
        release_images,
        tmp_path,
        "--split",
        "complex",
        "--limit",
        "1",
        "--concurrency",
        "1",
    )
    assert result.code == 0
    first, second = server.requests[:2]
    assert second.received_at - first.received_at >= 0.55


def test_failed_samples_are_typed_records_and_retry_failed_redoes_them(
    capsys, server: FakeServer, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    server.behaviour = Behaviour(fail_first=3, fail_first_kind="400")
    args = ("--split", "complex", "--concurrency", "1", "--run", "c")
    first = _run(capsys, server, release_dir, release_images, tmp_path, *args)
    assert first.code == 1
    assert "3 sample(s) failed" in first.err
    assert "bad_request 3: " in first.err  # the count, then one example message
    assert "a retry cannot fix these" in first.err
    db = sqlite3.connect(tmp_path / "eibench.sqlite")
    failed = db.execute(
        "SELECT raw, clean, error_kind, attempts FROM generations WHERE status='failed'"
    ).fetchall()
    assert len(failed) == 3
    assert all(
        raw is None and clean is None and kind == "bad_request" and n == 1
        for raw, clean, kind, n in failed
    )
    sent = server.count
    assert _run(capsys, server, release_dir, release_images, tmp_path, *args).code == 1
    assert server.count == sent  # failures are not redone without --retry-failed
    done = _run(capsys, server, release_dir, release_images, tmp_path, *args, "--retry-failed")
    assert done.code == 0
    assert server.count == sent + 3
    assert {s for _, s in _rows(tmp_path, "c")} == {"ok"}


def test_timeouts_fail_after_bounded_attempts(
    capsys, server: FakeServer, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    server.behaviour = Behaviour(fail_first=2, fail_first_kind="timeout", hang=5)
    result = invoke(
        capsys,
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
        str(tmp_path),
        "--split",
        "complex",
        "--limit",
        "1",
        "--timeout",
        "0.3",
        "--max-attempts",
        "2",
    )
    assert result.code == 1
    assert "timeout 1" in result.err
    assert server.count == 2


def test_bad_key_stops_the_run_without_leaking_it(
    capsys, server: FakeServer, release_dir: Path, release_images: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)

    def echo_key(request):  # a server that quotes the key back, as some do
        from starlette.responses import JSONResponse

        key = request.headers.get("authorization", "")
        return JSONResponse({"error": {"message": f"Incorrect API key: {key}"}}, status_code=401)

    server.behaviour = Behaviour(hook=echo_key)
    result = _run(capsys, server, release_dir, release_images, tmp_path, "--split", "complex")
    assert result.code == 2
    assert "stopped: auth" in result.err
    assert SECRET not in result.err + result.out
    assert server.count <= 8  # stopped, not 50 failures
    assert SECRET.encode() not in (tmp_path / "eibench.sqlite").read_bytes()


def test_caption_setting_captions_each_image_once_and_reuses_captions(
    capsys, server: FakeServer, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    args = ("--split", "complex", "--setting", "caption")
    assert _run(capsys, server, release_dir, release_images, tmp_path, *args).code == 0
    assert server.count == 23 + 50  # one caption per image, one answer per sample
    prompts = [b["messages"][0]["content"][-1]["text"] for b in server.bodies()]
    assert sum(p.startswith("Describe this image") for p in prompts) == 23
    again = (*args, "--text-only", "--persona", "none")
    assert _run(capsys, server, release_dir, release_images, tmp_path, *again).code == 0
    assert server.count == 23 + 50 + 50  # captions reused
    last = json.dumps(server.bodies()[-1]["messages"])
    assert "image_url" not in last and "base64" not in last
    assert "Here is a caption of an image: " in last


def test_prior_needs_no_images_and_no_server(capsys, release_dir: Path, tmp_path: Path) -> None:
    result = invoke(capsys, "run", "--data", str(release_dir), "--workspace", str(tmp_path))
    assert result.code == 0
    assert len(_rows(tmp_path, "prior-basic-user")) == 1615
    out = tmp_path / "ref.jsonl"
    exported = invoke(
        capsys,
        "export",
        "--run",
        "prior-basic-user",
        "--format",
        "reference",
        "--out",
        str(out),
        "--workspace",
        str(tmp_path),
        "--data",
        str(release_dir),
    )
    assert exported.code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 1615
    assert next(iter(lines[0])) == "CAER-S/train/Angry/0006.png"  # release order


def test_a_setting_that_sends_images_needs_an_image_root(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    result = invoke(
        capsys,
        "run",
        "--model",
        "openai:m",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--data",
        str(release_dir),
        "--workspace",
        str(tmp_path),
    )
    assert result.code == 2
    assert "--images" in result.err


def test_export_jsonl_and_import_round_trip(capsys, release_dir: Path, tmp_path: Path) -> None:
    common = ("--workspace", str(tmp_path), "--data", str(release_dir))
    assert invoke(capsys, "run", "--split", "complex", *common).code == 0
    ref = tmp_path / "ref.jsonl"
    full = tmp_path / "full.jsonl"
    assert (
        invoke(
            capsys,
            "export",
            "--run",
            "prior-complex-user",
            "--format",
            "reference",
            "--out",
            str(ref),
            *common,
        ).code
        == 0
    )
    assert (
        invoke(
            capsys,
            "export",
            "--run",
            "prior-complex-user",
            "--format",
            "jsonl",
            "--out",
            str(full),
            *common,
        ).code
        == 0
    )
    records = [json.loads(line) for line in full.read_text().splitlines()]
    assert len(records) == 50
    assert records[0]["generation"]["status"] == "ok" and records[0]["config"]["model"] == "prior"
    assert records[0]["generation"]["prompt"].startswith("You are a good expert")

    imported = invoke(
        capsys,
        "import",
        str(ref),
        "--run",
        "again",
        "--model",
        "elsewhere",
        "--split",
        "complex",
        *common,
    )
    assert imported.code == 0, imported.err
    db = sqlite3.connect(tmp_path / "eibench.sqlite")
    pairs = db.execute(
        "SELECT a.clean = b.clean FROM generations a JOIN generations b USING (sample_id) "
        "WHERE a.run = 'prior-complex-user' AND b.run = 'again'"
    ).fetchall()
    assert len(pairs) == 50 and all(same for (same,) in pairs)
    # importing twice replaces, never duplicates
    assert (
        invoke(
            capsys,
            "import",
            str(ref),
            "--run",
            "again",
            "--model",
            "elsewhere",
            "--split",
            "complex",
            *common,
        ).code
        == 0
    )
    assert db.execute("SELECT COUNT(*) FROM generations WHERE run='again'").fetchone()[0] == 50

    lines = ref.read_text().splitlines()
    lines[0], lines[5] = lines[5], lines[0]
    ref.write_text("\n".join(lines))
    bad = invoke(
        capsys, "import", str(ref), "--run", "x", "--model", "m", "--split", "complex", *common
    )
    assert bad.code == 2 and "ref.jsonl:1:" in bad.err and "line order" in bad.err


def test_images_are_inline_base64_and_downscaled_on_request(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    from io import BytesIO

    from PIL import Image

    from tests.release_factory import make_images

    images = make_images(
        tmp_path / "big", ["EmoSet-118k/image/anger/anger_00189.jpg"], size=(640, 320)
    )
    result = _run(
        capsys,
        server,
        release_dir,
        images,
        tmp_path / "ws",
        "--split",
        "complex",
        "--limit",
        "1",
        "--max-image-side",
        "64",
    )
    assert result.code == 0, result.err
    url = server.bodies()[0]["messages"][0]["content"][0]["image_url"]["url"]
    header, data = url.split(",", 1)
    assert header == "data:image/jpeg;base64"
    assert Image.open(BytesIO(base64.b64decode(data))).size == (64, 32)
