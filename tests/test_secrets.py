"""The API key never reaches the store, an export or the output, even when a server echoes it,
and a key no HTTP library can send is refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.responses import Response

from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer, RecordedRequest, error_response

KEY = "sk-proj-" + "Q7fZ2kLm9XcVb4NwRt8YpHs3Jd6GaE1u"  # 40 characters, like a real key
assert len(KEY) == 40


def _echo_key(record: RecordedRequest) -> Response:
    """A 500 whose message repeats the request's Authorization header after 180 characters,
    so that the old cut at 300 characters fell inside the key."""
    header = record.headers.get("authorization", "")
    message = "e" * 180 + f" request headers: {{'authorization': '{header}'}} and {header}"
    return error_response("openai", 500, message)


def _leaks(text: str | bytes) -> list[str]:
    """Every 8-character piece of the key found in `text`."""
    blob = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return [KEY[i : i + 8] for i in range(len(KEY) - 7) if KEY[i : i + 8] in blob]


def test_a_key_echoed_by_a_server_reaches_no_store_export_or_output(
    capsys, release_dir: Path, release_images: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    ws, out = tmp_path / "ws", tmp_path / "export.jsonl"
    common = ["--data", str(release_dir), "--workspace", str(ws), "--max-attempts", "1"]
    with FakeServer(Behaviour(hook=_echo_key)) as server:
        failed_run = invoke(capsys, "run", "--model", "openai:m", "--base-url", server.openai_url,
                            "--images", str(release_images), "--run", "echo", "--limit", "4",
                            *common)  # fmt: skip
        answered = invoke(capsys, "run", "--model", "prior", "--run", "ok", "--limit", "4",
                          "--data", str(release_dir), "--workspace", str(ws))  # fmt: skip
        judged = invoke(capsys, "judge", "--run", "ok", "--protocol", "paper-chatgpt",
                        "--judge", "openai:j", "--judge-base-url", server.openai_url,
                        *common)  # fmt: skip
        assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    export = ["export", "--format", "jsonl", "--data", str(release_dir), "--workspace", str(ws)]
    exported = [
        invoke(capsys, *export, "--run", run, "--out", str(out) + run) for run in ("echo", "ok")
    ]
    assert failed_run.code == 1 and answered.code == 0 and judged.code == 1
    assert all(e.code == 0 for e in exported)
    files = [p for p in (*ws.rglob("*"), *tmp_path.glob("export.jsonl*")) if p.is_file()]
    stored = b"".join(p.read_bytes() for p in files)
    assert b"request headers" in stored  # the server's message was kept, and redacted
    assert b"Bearer ***" in stored
    outputs = "".join(r.out + r.err for r in (failed_run, answered, judged, *exported))
    assert _leaks(stored) == [] and _leaks(outputs) == []


@pytest.mark.parametrize("where", ["env", "config"])
def test_a_key_with_a_control_character_is_refused_at_start_up_without_echoing_it(
    capsys, where: str, release_dir: Path, release_images: Path, tmp_path: Path, monkeypatch
) -> None:
    bad = KEY[:20] + "\n" + KEY[20:]
    if where == "env":
        monkeypatch.setenv("OPENAI_API_KEY", bad)
    else:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        config = tmp_path / "config.toml"
        config.write_text(f'[keys]\nopenai = "{KEY[:20]}\\n{KEY[20:]}"\n', encoding="utf-8")
        monkeypatch.setenv("EIBENCH_CONFIG", str(config))
    ws = tmp_path / "ws"
    with FakeServer(Behaviour()) as server:
        result = invoke(capsys, "run", "--model", "openai:m", "--base-url", server.openai_url,
                        "--images", str(release_images), "--limit", "2", "--data",
                        str(release_dir), "--workspace", str(ws))  # fmt: skip
        assert server.count == 0
    assert result.code == 2
    assert "control character" in result.err and len(result.err.strip().splitlines()) == 1
    assert ("OPENAI_API_KEY" if where == "env" else "keys.openai") in result.err
    assert _leaks(result.out + result.err) == []
    stored = b"".join(p.read_bytes() for p in ws.rglob("*") if p.is_file())
    assert _leaks(stored) == []
