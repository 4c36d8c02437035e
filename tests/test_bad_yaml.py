"""Bad experiment files (`eibench eval --config FILE.yaml`), `--set` values and grid-related
flags: one line on stderr naming the file (or flag) and the problem, exit 2, no traceback, and
nothing written."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from eibench.experiments import load_grid
from eibench.experiments.config import MAX_CONCURRENCY
from tests.cli import Result, invoke
from tests.one_line import assert_refused as refused

BASE = """\
name: g
data: {data}
workspace: {ws}
models:
  - spec: prior
limit: 2
judges:
  - protocol: semantic
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def grid_file(tmp_path: Path, release_dir: Path, ws: Path, extra: str = "") -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(BASE.format(data=release_dir, ws=ws) + extra, encoding="utf-8")
    return path


def usage_error(result: Result, ws: Path) -> str:
    """`result` is typer's usage error (exit 2, no traceback), as one line of words."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    assert not ws.exists()
    return " ".join(re.sub("[\u2500-\u257f]", " ", result.err).split())


def evaluate(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> Result:
    return invoke(capsys, "eval", "--config", str(path), *args)


BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_deeply_nested_yaml_is_one_line(capsys, tmp_path: Path, ws: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("models: " + "[" * 5000 + "]" * 5000 + "\n")
    refused(evaluate(capsys, path), ws, "deep.yaml:1:", "nested deeper than 64 levels")


@pytest.mark.parametrize(
    "raw",
    [bytes(range(256)) * 4, "name: caf\u00e9\n".encode("latin-1"), b"\x00\x01\x02\xff"],
    ids=["random-bytes", "latin-1", "control-bytes"],
)
def test_yaml_that_is_not_utf8_is_one_line(capsys, tmp_path: Path, ws: Path, raw: bytes) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(raw)
    refused(evaluate(capsys, path), ws, "binary.yaml", "not UTF-8 text")


def test_control_characters_in_yaml_are_one_line(capsys, tmp_path: Path, ws: Path) -> None:
    path = tmp_path / "ctrl.yaml"
    path.write_text("name: g\nmodels:\n  - spec: pri\x00or\n")
    refused(evaluate(capsys, path), ws, "ctrl.yaml:3:", "#x0000")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("!!binary cHJpb3I=", "!!binary"),
        ("!!python/object/apply:os.system ['echo owned']", "python/object/apply"),
        ("!!python/name:os.system", "python/name"),
    ],
)
def test_binary_and_python_tags_are_refused(
    capsys, tmp_path: Path, release_dir: Path, ws: Path, value: str, problem: str
) -> None:
    path = grid_file(tmp_path, release_dir, ws, f"report: {value}\n")
    refused(evaluate(capsys, path), ws, "grid.yaml:9:", problem)


def test_duplicate_key_names_file_line_and_key(
    capsys, tmp_path: Path, release_dir: Path, ws: Path
) -> None:
    path = grid_file(tmp_path, release_dir, ws, "limit: 1000\n")
    refused(evaluate(capsys, path), ws, "grid.yaml:9:", "key 'limit' is given twice")


def test_duplicate_key_in_a_nested_mapping(
    capsys, tmp_path: Path, release_dir: Path, ws: Path
) -> None:
    path = grid_file(tmp_path, release_dir, ws, "params:\n  max_tokens: 5\n  max_tokens: 6\n")
    refused(evaluate(capsys, path), ws, "grid.yaml:11:", "'max_tokens' is given twice")


def test_alias_bomb_is_refused_quickly(capsys, tmp_path: Path, ws: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB + "models: *i\n")
    assert len(BOMB) < 1024
    started = time.perf_counter()
    refused(evaluate(capsys, path), ws, "bomb.yaml", "aliases expand the document past 100,000")
    assert time.perf_counter() - started < 2


def test_recursive_alias_is_refused(capsys, tmp_path: Path, ws: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("models: &m\n  - spec: prior\n  - *m\n")
    refused(evaluate(capsys, path), ws, "loop.yaml", "aliases expand")


def test_anchors_and_merges_still_share_settings(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    path.write_text(
        "params: &p {max_tokens: 64}\n"
        "models: [{spec: prior}]\n"
        "judges:\n"
        "  - &j {protocol: paper-llama3, judge: 'openai:m', base_url: ['http://gpu:8000/v1']}\n"
        "  - <<: *j\n    protocol: paper-chatgpt\n",
    )
    grid = load_grid(path)
    assert grid.params.max_tokens == 64
    assert [j.protocol for j in grid.judges] == ["paper-llama3", "paper-chatgpt"]
    assert grid.judges[1].base_url == ["http://gpu:8000/v1"]


def test_unknown_key_names_the_allowed_keys(
    capsys, tmp_path: Path, release_dir: Path, ws: Path
) -> None:
    path = grid_file(tmp_path, release_dir, ws, "params:\n  max_token: 5\n")
    refused(evaluate(capsys, path), ws, "grid.yaml: params: unknown key 'max_token'",
            "(allowed: temperature, max_tokens, top_p, seed)")  # fmt: skip


@pytest.mark.parametrize("limit", ["-5", "0"])
def test_limit_below_one_is_refused(
    capsys, tmp_path: Path, release_dir: Path, ws: Path, limit: str
) -> None:
    path = grid_file(tmp_path, release_dir, ws)
    # a bad --set is the flag's fault, not the file's
    refused(evaluate(capsys, path, "--set", f"limit={limit}"), ws, f"--set limit={limit}: limit:")
    path.write_text(path.read_text().replace("limit: 2", f"limit: {limit}"))
    refused(evaluate(capsys, path), ws, "grid.yaml: limit:", "greater than or equal to 1")


@pytest.mark.parametrize("key", ["concurrency", "judge_concurrency"])
@pytest.mark.parametrize("value", ["100000000000", "0", str(MAX_CONCURRENCY + 1)])
def test_concurrency_is_bounded_in_grids(
    capsys, tmp_path: Path, release_dir: Path, ws: Path, key: str, value: str
) -> None:
    path = grid_file(tmp_path, release_dir, ws, f"{key}: {value}\n")
    refused(evaluate(capsys, path), ws, f"grid.yaml: {key}:")


def test_base_url_in_a_grid_must_be_http(
    capsys, tmp_path: Path, release_dir: Path, ws: Path
) -> None:
    path = grid_file(tmp_path, release_dir, ws)
    path.write_text(path.read_text().replace("  - spec: prior\n", "  - spec: prior\n"
                                             "    base_url: ['file:///etc/passwd']\n"))  # fmt: skip
    message = refused(evaluate(capsys, path), ws, "grid.yaml: models.0.base_url.0:", "https://")
    assert "/etc/passwd" not in message
    path = grid_file(tmp_path, release_dir, ws, "  - protocol: paper-llama3\n"
                     "    judge: openai:m\n    base_url: [gopher://x]\n")  # fmt: skip
    refused(evaluate(capsys, path), ws, "grid.yaml: judges.1.base_url.0:", "gopher:")


def test_base_url_flag_of_eval_must_be_http(
    capsys, tmp_path: Path, release_dir: Path, ws: Path
) -> None:
    path = grid_file(tmp_path, release_dir, ws)
    result = evaluate(capsys, path, "--model", "openai:m", "--base-url", "file:///etc/passwd")
    refused(result, ws, "--base-url:", "http:// or https://")


@pytest.mark.parametrize(
    ("assignment", "problem"),
    [
        ("name=!!python/object/apply:os.system ['echo owned']", "python/object/apply"),
        ("name=!!binary cHJpb3I=", "!!binary"),
        ("params={max_tokens: 5, max_tokens: 6}", "'max_tokens' is given twice"),
        ("personas=" + "[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ("name=" + BOMB.replace("\n", ", ").join("{}"), "aliases expand"),
    ],
    ids=["python-tag", "binary", "duplicate", "deep", "bomb"],
)
def test_set_values_use_the_safe_loader(
    capsys, tmp_path: Path, release_dir: Path, ws: Path, assignment: str, problem: str
) -> None:
    path = grid_file(tmp_path, release_dir, ws)
    refused(evaluate(capsys, path, "--set", assignment), ws, "--set", problem)


def test_set_values_are_still_read_as_yaml(tmp_path: Path, release_dir: Path, ws: Path) -> None:
    path = grid_file(tmp_path, release_dir, ws)
    grid = load_grid(path, ["concurrency=32", "params.max_tokens=64", "splits=[basic, complex]"])
    assert (grid.concurrency, grid.params.max_tokens) == (32, 64)
    assert grid.splits == ["basic", "complex"]


@pytest.mark.parametrize("value", ["0", "5000", "100000000000"])
def test_concurrency_flag_is_bounded(capsys, release_dir: Path, ws: Path, value: str) -> None:
    result = invoke(capsys, "run", "--model", "prior", "--limit", "1", "--concurrency", value,
                    "--data", str(release_dir), "--workspace", str(ws))  # fmt: skip
    message = usage_error(result, ws)
    assert "Invalid value for '--concurrency'" in message
    bound = (
        "greater than or equal to 1" if value == "0" else f"less than or equal to {MAX_CONCURRENCY}"
    )
    assert bound in message


@pytest.mark.parametrize("flag", ["--limit", "--subset"])
@pytest.mark.parametrize("value", ["-5", "0"])
def test_limit_and_subset_flags_below_one_are_refused(
    capsys, release_dir: Path, ws: Path, flag: str, value: str
) -> None:
    result = invoke(capsys, "run", "--model", "prior", flag, value,
                    "--data", str(release_dir), "--workspace", str(ws))  # fmt: skip
    message = usage_error(result, ws)
    assert f"Invalid value for '{flag}': Input should be greater than or equal to 1" in message


def test_quickstart_limit_below_one_is_refused(capsys, release_dir: Path, ws: Path) -> None:
    result = invoke(capsys, "quickstart", "--limit", "-5", "--data", str(release_dir),
                    "--workspace", str(ws))  # fmt: skip
    message = usage_error(result, ws)
    assert "Invalid value for '--limit': Input should be greater than or equal to 1" in message
