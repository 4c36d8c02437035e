"""`eibench eval` grids from one YAML file, and `eibench quickstart`."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer, request_text

GRID = """
name: g
data: ${{DATA}}
workspace: ${{WS}}
models:
  - spec: prior
splits: [basic, complex]
settings: [user, cot]
limit: 12
judges:
  - protocol: paper-llama3
    judge: openai:llama3
    base_url:
      - ${{JUDGE_URL}}
  - protocol: paper-chatgpt
    judge: openai:gpt
    base_url:
      - ${{JUDGE_URL:-http://unused}}
{extra}
"""


def reply(body: Any) -> str:
    block = request_text(body).split("Ground Truth:\n", 1)[1].split("\n\nYour Assessment:")[0]
    n = len(block.splitlines())
    return f"{{score: {n // 2 if body['model'] == 'llama3' else n // 3}/{n}}}"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, release_dir: Path):
    with FakeServer(Behaviour(reply=reply)) as server:
        monkeypatch.setenv("DATA", str(release_dir))
        monkeypatch.setenv("WS", str(tmp_path / "ws"))
        monkeypatch.setenv("JUDGE_URL", server.openai_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-grid-SECRET-123")
        monkeypatch.setenv("EIBENCH_CONFIG", str(tmp_path / "absent.toml"))
        yield server


def write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID.format(extra=extra))
    return path


def test_grid_runs_judges_and_resumes_with_the_same_command(
    capsys, env: FakeServer, tmp_path: Path
) -> None:
    config = write(tmp_path)
    first = invoke(capsys, "eval", "--config", str(config))
    assert first.code == 0, first.err
    # basic x (user, cot) + complex x (user): 3 runs of 12 answers, each judged twice; the
    # prior gives the same answers under user and cot, so their judge calls come from the cache
    assert env.count == 2 * 12 * 2
    assert "3 run(s), 36 answer(s) and 72 verdict(s) made now" in first.err
    db = sqlite3.connect(tmp_path / "ws" / "eibench.sqlite")
    runs = sorted(r[0] for r in db.execute("SELECT name FROM runs"))
    assert runs == ["g-prior-basic-cot", "g-prior-basic-user", "g-prior-complex-user"]
    again = invoke(capsys, "eval", "--config", str(config))
    assert again.code == 0 and env.count == 48
    assert "0 answer(s) and 0 verdict(s) made now" in again.err
    # the tables print a/b cells for the two paper protocols
    assert "paper-llama3 / paper-chatgpt" in again.out and "/" in again.out
    # secrets from the environment reach neither the store nor the output
    dump = "\n".join(db.iterdump())
    assert "SECRET" not in dump and "SECRET" not in again.out + again.err


def test_overrides_from_the_command_line(capsys, env: FakeServer, tmp_path: Path) -> None:
    config = write(tmp_path)
    result = invoke(
        capsys, "eval", "--config", str(config), "--set", "limit=3", "--set", "splits=[basic]",
        "--set", "settings=[user]", "--set", "name=small",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert env.count == 3 * 2
    assert "1 run(s), 3 answer(s)" in result.err


def test_a_missing_variable_or_bad_file_is_one_line(
    capsys, env: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JUDGE_URL")
    config = write(tmp_path)
    result = invoke(capsys, "eval", "--config", str(config))
    assert result.code == 2 and "${JUDGE_URL} is not set" in result.err
    assert str(config) in result.err and len(result.err.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - spec: prior\n settings: [user\n")
    result = invoke(capsys, "eval", "--config", str(bad))
    assert result.code == 2 and "bad.yaml" in result.err and "Traceback" not in result.err
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("models:\n  - spec: prior\nsetings: [user]\n")
    result = invoke(capsys, "eval", "--config", str(unknown))
    assert result.code == 2 and "setings" in result.err
    wrong = invoke(capsys, "eval", "--config", str(config), "--set", "nonsense")
    assert wrong.code == 2 and "KEY=VALUE" in wrong.err


def test_paper_config_names_any_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from eibench.experiments import bundled, load_grid

    monkeypatch.setenv("EIBENCH_IMAGES", str(tmp_path))
    monkeypatch.setenv("MODEL", "anthropic:claude-3-haiku-20240307")
    grid = load_grid(bundled("paper"))
    assert grid.models[0].spec == "anthropic:claude-3-haiku-20240307"
    assert grid.settings == ["user", "caption", "cot"] and grid.complex_settings == ["user"]
    assert [j.protocol for j in grid.judges] == ["paper-llama3", "paper-chatgpt"]
    assert Path("configs/paper.yaml").resolve() == bundled("paper").resolve()


def test_quickstart_runs_the_whole_job_offline_and_resumes(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    ws, out = tmp_path / "ws", tmp_path / "report.html"
    args = ("quickstart", "--data", str(release_dir), "--workspace", str(ws), "--out", str(out))
    result = invoke(capsys, *args, "--limit", "40")
    assert result.code == 0, result.err
    assert "2 run(s), 80 answer(s) and 80 verdict(s) made now" in result.err
    assert "Basic EI recall" in result.out and "Complex" in result.out
    assert "Excitement" in result.out and "n=40" in result.out
    page = out.read_text(encoding="utf-8")
    assert page.lower().startswith("<!doctype html>") and "quickstart-prior-basic-user" in page
    again = invoke(capsys, *args, "--limit", "40")
    assert again.code == 0 and "0 answer(s) and 0 verdict(s) made now" in again.err
