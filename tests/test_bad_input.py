"""Bad release files get a one-line error naming the file, the line or key, and the problem;
exit code 2; no traceback; nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import invoke

QUESTIONS = "EI_Basic/user.jsonl"
TRUTH = "EI_Basic/basic_ground_truth.json"
COMPLEX = "EI_Complex/ec_complex.jsonl"


def _lines(root: Path, name: str) -> list[str]:
    return (root / name).read_text(encoding="utf-8").splitlines()


def _write_lines(root: Path, name: str, lines: list[str]) -> None:
    (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _truth(root: Path) -> dict[str, object]:
    return json.loads((root / TRUTH).read_text(encoding="utf-8"))


def _write_truth(root: Path, truth: dict[str, object]) -> None:
    (root / TRUTH).write_text(json.dumps(truth, indent=4), encoding="utf-8")


def _fails(capsys: pytest.CaptureFixture[str], root: Path, tmp_path: Path, *expected: str) -> str:
    """Run an export on the broken release and check the failure is one clean line."""
    out = tmp_path / "export.jsonl"
    result = invoke(
        capsys, "data", "export", "--format", "jsonl", "--out", str(out), "--data", str(root)
    )
    assert result.code == 2
    assert "Traceback" not in result.err
    message = result.err.strip()
    assert len(message.splitlines()) == 1, message
    for part in expected:
        assert part in message, (part, message)
    assert not out.exists()
    assert list(tmp_path.glob("*.jsonl*")) == []
    return message


def test_malformed_json_line(capsys, release_copy: Path, tmp_path: Path) -> None:
    lines = _lines(release_copy, QUESTIONS)
    lines[4] = lines[4][:-1]  # drop the closing brace
    _write_lines(release_copy, QUESTIONS, lines)
    _fails(capsys, release_copy, tmp_path, "user.jsonl:5:", "malformed JSON")


def test_malformed_json_in_ground_truth_file(capsys, release_copy: Path, tmp_path: Path) -> None:
    text = (release_copy / TRUTH).read_text().splitlines()
    text[9] = text[9].replace('": "', '" "', 1)
    (release_copy / TRUTH).write_text("\n".join(text))
    _fails(capsys, release_copy, tmp_path, "basic_ground_truth.json:10:", "malformed JSON")


def test_question_without_ground_truth(capsys, release_copy: Path, tmp_path: Path) -> None:
    truth = _truth(release_copy)
    del truth["CAER-S/train/Angry/0014.png"]
    _write_truth(release_copy, truth)
    _fails(
        capsys,
        release_copy,
        tmp_path,
        "user.jsonl:3:",
        "CAER-S/train/Angry/0014.png",
        "no ground truth",
    )


def test_ground_truth_without_question(capsys, release_copy: Path, tmp_path: Path) -> None:
    truth = _truth(release_copy)
    truth["CAER-S/train/Angry/9999.png"] = "1. An extra trigger."
    _write_truth(release_copy, truth)
    _fails(capsys, release_copy, tmp_path, "basic_ground_truth.json:", "9999.png", "no question")


def test_duplicate_question_key_with_conflicting_values(
    capsys, release_copy: Path, tmp_path: Path
) -> None:
    lines = _lines(release_copy, QUESTIONS)
    lines.append(json.dumps({"CAER-S/train/Angry/0006.png": "A different question?"}))
    _write_lines(release_copy, QUESTIONS, lines)
    _fails(capsys, release_copy, tmp_path, f"user.jsonl:{len(lines)}:", "0006.png", "duplicate")


def test_duplicate_question_key_with_same_value_counts_once(
    capsys, release_copy: Path, release_dir: Path
) -> None:
    lines = _lines(release_copy, QUESTIONS)
    lines.append(lines[0])
    _write_lines(release_copy, QUESTIONS, lines)
    result = invoke(
        capsys, "data", "stats", "--data", str(release_copy), "--json", "--split", "basic"
    )
    assert result.code == 0
    assert json.loads(result.out)["basic"]["overall"]["samples"] == 1615
    check = invoke(capsys, "data", "check", "--data", str(release_copy), "--split", "basic")
    assert "duplicate of line 1" in check.out


def test_duplicate_ground_truth_key_with_conflicting_values(
    capsys, release_copy: Path, tmp_path: Path
) -> None:
    text = (release_copy / TRUTH).read_text().rstrip().rstrip("}")
    text += ',\n    "CAER-S/train/Angry/0006.png": "1. Something else."\n}'
    (release_copy / TRUTH).write_text(text)
    _fails(capsys, release_copy, tmp_path, "basic_ground_truth.json:", "0006.png", "duplicate")


def test_duplicate_complex_sample_with_conflicting_triggers(
    capsys, release_copy: Path, tmp_path: Path
) -> None:
    lines = _lines(release_copy, COMPLEX)
    record = json.loads(lines[0])
    ((image, inner),) = record.items()
    ((question, _),) = inner.items()
    lines.append(json.dumps({image: {question: "1. A conflicting trigger."}}))
    _write_lines(release_copy, COMPLEX, lines)
    _fails(capsys, release_copy, tmp_path, f"ec_complex.jsonl:{len(lines)}:", "line 1", image)


@pytest.mark.parametrize("value", ["", "1. \n2. ", "   "])
def test_empty_trigger_list(capsys, release_copy: Path, tmp_path: Path, value: str) -> None:
    truth = _truth(release_copy)
    truth["CAER-S/train/Angry/0007.png"] = value
    _write_truth(release_copy, truth)
    _fails(
        capsys, release_copy, tmp_path, "basic_ground_truth.json:", "0007.png", "empty trigger list"
    )


def test_empty_trigger_list_in_complex(capsys, release_copy: Path, tmp_path: Path) -> None:
    lines = _lines(release_copy, COMPLEX)
    lines[2] = json.dumps({"EmoSet-118k/image/anger/x.jpg": {"Why angry?": "1. "}})
    _write_lines(release_copy, COMPLEX, lines)
    _fails(capsys, release_copy, tmp_path, "ec_complex.jsonl:3:", "empty trigger list")


def test_non_string_question(capsys, release_copy: Path, tmp_path: Path) -> None:
    lines = _lines(release_copy, QUESTIONS)
    lines[1] = json.dumps({"CAER-S/train/Angry/0007.png": 42})
    _write_lines(release_copy, QUESTIONS, lines)
    _fails(capsys, release_copy, tmp_path, "user.jsonl:2:", "0007.png", "must be a string, got int")


def test_non_string_triggers(capsys, release_copy: Path, tmp_path: Path) -> None:
    truth = _truth(release_copy)
    truth["CAER-S/train/Angry/0007.png"] = ["1. a list"]
    _write_truth(release_copy, truth)
    _fails(capsys, release_copy, tmp_path, "basic_ground_truth.json:", "must be a string, got list")


def test_non_object_complex_value(capsys, release_copy: Path, tmp_path: Path) -> None:
    lines = _lines(release_copy, COMPLEX)
    lines[3] = json.dumps({"EmoSet-118k/image/anger/x.jpg": "1. no question"})
    _write_lines(release_copy, COMPLEX, lines)
    _fails(capsys, release_copy, tmp_path, "ec_complex.jsonl:4:", "expected {question: triggers}")


def test_line_that_is_not_an_object(capsys, release_copy: Path, tmp_path: Path) -> None:
    lines = _lines(release_copy, QUESTIONS)
    lines[6] = '["a", "list"]'
    _write_lines(release_copy, QUESTIONS, lines)
    _fails(capsys, release_copy, tmp_path, "user.jsonl:7:", "expected a JSON object")


def test_file_that_is_not_utf8(capsys, release_copy: Path, tmp_path: Path) -> None:
    path = release_copy / QUESTIONS
    raw = path.read_bytes().split(b"\n")
    raw[2] = '{"CAER-S/train/Angry/0014.png": "Why is she f\u00e2ch\u00e9e?"}'.encode("latin-1")
    path.write_bytes(b"\n".join(raw))
    _fails(capsys, release_copy, tmp_path, "user.jsonl:3:", "not valid UTF-8")


@pytest.mark.parametrize(
    "key", ["../../etc/passwd.png", "/etc/passwd.png", "CAER-S/../../x.png", "C:\\x.png"]
)
def test_traversal_key(capsys, release_copy: Path, tmp_path: Path, key: str) -> None:
    lines = _lines(release_copy, QUESTIONS)
    lines[0] = json.dumps({key: "Why?"})
    _write_lines(release_copy, QUESTIONS, lines)
    _fails(capsys, release_copy, tmp_path, "user.jsonl:1:", repr(key))


def test_traversal_key_in_complex(capsys, release_copy: Path, tmp_path: Path) -> None:
    lines = _lines(release_copy, COMPLEX)
    lines[0] = json.dumps({"../secret.jpg": {"Why?": "1. A."}})
    _write_lines(release_copy, COMPLEX, lines)
    _fails(capsys, release_copy, tmp_path, "ec_complex.jsonl:1:", "escapes")


@pytest.mark.parametrize("name", [QUESTIONS, TRUTH, COMPLEX])
def test_missing_file(capsys, release_copy: Path, tmp_path: Path, name: str) -> None:
    (release_copy / name).unlink()
    _fails(capsys, release_copy, tmp_path, name.split("/")[-1], "file not found")


def test_debug_shows_the_traceback(capsys, release_copy: Path) -> None:
    (release_copy / COMPLEX).unlink()
    with pytest.raises(Exception, match="file not found"):
        invoke(capsys, "--debug", "data", "stats", "--data", str(release_copy))


def test_console_script_reports_one_line(release_copy: Path) -> None:
    """The installed entry point, run as a user would, with no traceback."""
    import subprocess
    import sys

    (release_copy / TRUTH).write_text("{not json")
    done = subprocess.run(
        [sys.executable, "-m", "eibench", "data", "check", "--data", str(release_copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "basic_ground_truth.json:1: malformed JSON" in done.stderr
