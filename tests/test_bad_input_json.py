"""JSON that the release files must not hold (lone surrogates, deep nesting, huge integers, no
samples) is one located error; JSON that is valid (line separators inside strings) is read as
written; and `data check` reports control and bidirectional characters in the text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eibench.data import load_split
from tests.cli import invoke
from tests.one_line import assert_one_line_error
from tests.release_factory import write_release

QUESTIONS = "EI_Basic/user.jsonl"
TRUTH = "EI_Basic/basic_ground_truth.json"
COMPLEX = "EI_Complex/ec_complex.jsonl"
ANGRY = "CAER-S/train/Angry/0001.png"
HAPPY = "CAER-S/train/Happy/0002.png"
IMAGE = "EmoSet-118k/image/anger/anger_00001.jpg"
DEEP = "[" * 100_000 + "]" * 100_000
LONG = "7" * 5_000


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(
        tmp_path / "release",
        {ANGRY: ("Why is he angry?", "1. A broken cup.\n2. A shout."),
         HAPPY: ("Why is she happy?", "1. A gift.")},
        [(IMAGE, "Why is he angry?", "1. A fight."),
         (IMAGE, "Who is he shouting at?", "1. A man.")],
    )  # fmt: skip


def _write(root: Path, name: str, lines: list[str]) -> None:
    (root / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _truth(question_line: str = '"1. A gift."') -> str:
    """The ground-truth file as `json.dumps(indent=4)` lays it out, HAPPY's value raw."""
    return f'{{\n    "{ANGRY}": "1. A broken cup.",\n    "{HAPPY}": {question_line}\n}}'


def _fails(capsys, root: Path, tmp_path: Path, *parts: str) -> str:
    out = tmp_path / "export.jsonl"
    result = invoke(
        capsys, "data", "export", "--format", "jsonl", "--out", str(out), "--data", str(root)
    )
    message = assert_one_line_error(result, *parts)
    assert not out.exists()
    return message


# lone surrogates -------------------------------------------------------------------------------

BROKEN_FILES = [
    (QUESTIONS, [f'{{"{ANGRY}": "Why?"}}', f'{{"{HAPPY}": "Why is she \\ud800 happy?"}}'],
     "user.jsonl:2:"),
    (TRUTH, None, "basic_ground_truth.json:3:"),
    (COMPLEX,
     [f'{{"{IMAGE}": {{"Why?": "1. A."}}}}', f'{{"{IMAGE}": {{"Who \\udc00?": "1. B."}}}}'],
     "ec_complex.jsonl:2:"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "lines", "where"), BROKEN_FILES)
def test_lone_surrogate_in_a_release_file(
    capsys, release: Path, tmp_path: Path, name: str, lines: list[str] | None, where: str
) -> None:
    if lines is None:
        (release / TRUTH).write_text(_truth('"1. A gift \\udfff."'), encoding="utf-8")
    else:
        _write(release, name, lines)
    message = _fails(capsys, release, tmp_path, where, "lone surrogate")
    assert "\\ud" in message  # the escape is shown, never the unprintable character


def test_lone_surrogate_in_an_image_key(capsys, release: Path, tmp_path: Path) -> None:
    _write(release, QUESTIONS, [f'{{"{ANGRY}": "Why?"}}', '{"CAER-S/x/\\ud800.png": "Why?"}'])
    _fails(capsys, release, tmp_path, "user.jsonl:2:", "'CAER-S/x/\\ud800.png'", "lone surrogate")


def test_a_surrogate_pair_is_one_character_and_loads(release: Path) -> None:
    _write(release, QUESTIONS, [f'{{"{ANGRY}": "Why?"}}', f'{{"{HAPPY}": "Why \\ud83d\\ude00?"}}'])
    questions = {s.image: s.question for s in load_split(release, "basic").samples}
    assert questions[HAPPY] == "Why \U0001f600?"


# nesting and number size -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (QUESTIONS, f'{{"{ANGRY}": {DEEP}}}\n', "user.jsonl:1:"),
        (TRUTH, f'{{"{ANGRY}": {DEEP}}}', "basic_ground_truth.json"),
        (COMPLEX, f'{{"{IMAGE}": {{"Why?": "1. A."}}}}\n{{"{IMAGE}": {DEEP}}}\n', "jsonl:2:"),
        (QUESTIONS, f'{{"{ANGRY}": {"[" * 200}{"]" * 200}}}\n', "user.jsonl:1:"),
    ],
)
def test_json_nested_too_deep(
    capsys, release: Path, tmp_path: Path, name: str, text: str, where: str
) -> None:
    (release / name).write_text(text, encoding="utf-8")
    _fails(capsys, release, tmp_path, where, "nested deeper than")


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (QUESTIONS, f'{{"{ANGRY}": "Why?"}}\n{{"{HAPPY}": {LONG}}}\n', "user.jsonl:2:"),
        (TRUTH, _truth(LONG), "basic_ground_truth.json:3:"),
        (COMPLEX, f'{{"{IMAGE}": {{"Why?": -{LONG}}}}}\n', "ec_complex.jsonl:1:"),
    ],
)
def test_integer_with_too_many_digits(
    capsys, release: Path, tmp_path: Path, name: str, text: str, where: str
) -> None:
    (release / name).write_text(text, encoding="utf-8")
    _fails(capsys, release, tmp_path, where, "integer with 5000 digits")


# line separators inside strings are valid JSON -------------------------------------------------

SEPARATORS = "\u2028\u2029\x85\x0b\x0c\x1c\x1d\x1e"


def test_line_separators_inside_strings_are_kept(capsys, release: Path, tmp_path: Path) -> None:
    question = f"Why{SEPARATORS} is he angry?"
    triggers = "1. A broken\u2028cup.\n2. A shout\x85 and a\x1ccry."
    raw = [
        json.dumps({ANGRY: question}, ensure_ascii=False),
        json.dumps({HAPPY: "Why is she happy?"}),
    ]
    (release / QUESTIONS).write_text("\r\n".join(raw) + "\r\n", encoding="utf-8")
    truth = {ANGRY: triggers, HAPPY: "1. A gift."}
    (release / TRUTH).write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    complex_line = json.dumps({IMAGE: {question: "1. A\u2029fight."}}, ensure_ascii=False)
    (release / COMPLEX).write_text(complex_line + "\n", encoding="utf-8")
    out = tmp_path / "export.jsonl"
    result = invoke(
        capsys, "data", "export", "--format", "jsonl", "--out", str(out), "--data", str(release)
    )
    assert result.code == 0, result.err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    by_key = {(r["split"], r["image"]): r for r in records}
    assert len(records) == 3
    assert by_key["basic", ANGRY]["question"] == question
    assert by_key["basic", ANGRY]["triggers"] == ["A broken\u2028cup.", "A shout\x85 and a\x1ccry."]
    assert by_key["complex", IMAGE]["triggers"] == ["A\u2029fight."]


# a split with no samples -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "split", "where"),
    [
        (COMPLEX, "", "complex", "ec_complex.jsonl:"),
        (COMPLEX, "\n  \n\r\n", "complex", "ec_complex.jsonl:"),
        (QUESTIONS, "", "basic", "user.jsonl:"),
    ],
)
def test_a_split_with_no_samples_is_an_error(
    capsys, release: Path, tmp_path: Path, name: str, text: str, split: str, where: str
) -> None:
    (release / name).write_text(text, encoding="utf-8")
    if name == QUESTIONS:
        (release / TRUTH).write_text("{}", encoding="utf-8")
    ws = tmp_path / "ws"
    result = invoke(capsys, "run", "--model", "prior", "--split", split, "--data", str(release),
                    "--workspace", str(ws))  # fmt: skip
    assert_one_line_error(result, where, "no samples")
    stats = invoke(capsys, "data", "stats", "--data", str(release), "--split", split)
    assert_one_line_error(stats, where, "no samples")


# data check: control and bidirectional characters ----------------------------------------------


def _check(capsys, root: Path) -> tuple[int, list[str]]:
    result = invoke(capsys, "data", "check", "--data", str(root), "--json")
    assert "Traceback" not in result.err
    findings = [json.loads(line) for line in result.out.splitlines()]
    return result.code, [f"{f['level']}: {f['where']}: {f['message']}" for f in findings]


def test_check_of_a_clean_release_has_no_findings(capsys, release: Path) -> None:
    assert _check(capsys, release) == (0, [])


@pytest.mark.parametrize(
    ("char", "name"),
    [("\x00", "NUL"), ("\x1b", "ESC"), ("\r", "CR"), ("\x7f", "DEL"), ("\x85", "NEL")],
)
def test_check_reports_control_characters_as_errors(
    capsys, release: Path, char: str, name: str
) -> None:
    _write(release, QUESTIONS, [json.dumps({ANGRY: "Why?"}), json.dumps({HAPPY: f"Why{char}?"})])
    (release / TRUTH).write_text(_truth(json.dumps(f"1. A{char}gift.")), encoding="utf-8")
    line = json.dumps({IMAGE: {f"Why{char} angry?": "1. A fight."}})
    _write(release, COMPLEX, [json.dumps({IMAGE: {"Who?": "1. A man."}}), line])
    code, found = _check(capsys, release)
    code_point = f"U+{ord(char):04X} ({name})"
    assert code == 2
    assert f"error: user.jsonl:2: {HAPPY}: question holds control character {code_point}" in found
    assert (
        f"error: basic_ground_truth.json:3: {HAPPY}: triggers hold control character {code_point}"
        in found
    )
    assert f"error: ec_complex.jsonl:2: {IMAGE}: question holds control character {code_point}" in (
        found
    )


@pytest.mark.parametrize("char", ["\u202a", "\u202e", "\u2066", "\u2069"])
def test_check_reports_bidirectional_controls_as_errors(capsys, release: Path, char: str) -> None:
    _write(release, QUESTIONS, [json.dumps({ANGRY: "Why?"}), json.dumps({HAPPY: f"Why{char}?"})])
    line = json.dumps({IMAGE: {"Why angry?": f"1. A{char} fight."}})
    _write(release, COMPLEX, [json.dumps({IMAGE: {"Who?": "1. A man."}}), line])
    code, found = _check(capsys, release)
    assert code == 2
    mark = f"bidirectional control U+{ord(char):04X}"
    assert any(f.startswith(f"error: user.jsonl:2: {HAPPY}: question holds {mark}") for f in found)
    assert any(f.startswith(f"error: ec_complex.jsonl:2: {IMAGE}: triggers hold {mark}")
               for f in found), found  # fmt: skip


def test_check_reports_a_bidirectional_control_in_an_image_key(capsys, release: Path) -> None:
    key = "CAER-S/train/Happy/\u202egnp.0003.png"
    _write(release, QUESTIONS, [json.dumps({ANGRY: "Why?"}), json.dumps({key: "Why?"})])
    truth = {ANGRY: "1. A cup.", key: "1. A gift."}
    (release / TRUTH).write_text(json.dumps(truth), encoding="utf-8")
    code, found = _check(capsys, release)
    assert code == 2
    assert found == [
        f"error: user.jsonl:2: {key}: image key holds bidirectional control U+202E "
        "(RIGHT-TO-LEFT OVERRIDE)"
    ]
