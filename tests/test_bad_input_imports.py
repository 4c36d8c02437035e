"""Bad JSON in the files people bring in (`eibench import`, `annotate import`, `annotate
--question-from`, `review agreement --from-files`): one located error, exit 2, no traceback and
nothing stored; and what eibench exports imports back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eibench.cfsa.annotate import AnnotateRequest, collect_items
from eibench.store import Store
from eibench.store.annotations import load_annotations
from tests.cli import Result, invoke
from tests.one_line import assert_one_line_error
from tests.release_factory import make_images, write_release

ANGRY = "CAER-S/train/Angry/0001.png"
HAPPY = "CAER-S/train/Happy/0002.png"
IMAGE = "EmoSet-118k/image/anger/anger_00001.jpg"
DEEP = "[" * 100_000 + "]" * 100_000
LONG = "7" * 5_000
ODD = "A broken\u2028cup,\x85 a shout\u2029 and\x0b a\x0c cry\x1c\x1d\x1e."


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(
        tmp_path / "release",
        {ANGRY: ("Why is he angry?", "1. A broken cup."),
         HAPPY: ("Why is she happy?", "1. A gift.")},
        [(IMAGE, "Why is he angry?", "1. A fight.")],
    )  # fmt: skip


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# eibench import --------------------------------------------------------------------------------


def _import(capsys, release: Path, file: Path, run: str = "r") -> Result:
    return invoke(capsys, "import", str(file), "--run", run, "--model", "m", "--split", "basic",
                  "--data", str(release), "--workspace", str(release.parent / "ws"))  # fmt: skip


def _runs(release: Path) -> list[str]:
    with Store.open(release.parent / "ws") as store:
        return store.run_names()


def _answers(release: Path, run: str) -> dict[str, str | None]:
    with Store.open(release.parent / "ws") as store:
        return {g.image: g.raw for g in store.generations(run)}


@pytest.mark.parametrize(
    ("lines", "parts"),
    [
        ([f'{{"{ANGRY}": "fine"}}', f'{{"{HAPPY}": "bad \\ud800 answer"}}'],
         ("answers.jsonl:2:", HAPPY, "lone surrogate \\ud800")),
        ([f'{{"{ANGRY}": {DEEP}}}'], ("answers.jsonl:1:", "nested deeper than")),
        ([f'{{"{ANGRY}": {LONG}}}'], ("answers.jsonl:1:", "integer with 5000 digits")),
        ([f'{{"{ANGRY}": "fine"}}', '{"../../../../etc/passwd": "x"}'],
         ("answers.jsonl:2:", "'../../../../etc/passwd'", "escapes the image root")),
        (['{"/etc/passwd": "x"}'], ("answers.jsonl:1:", "'/etc/passwd'", "absolute path")),
        ([], ("answers.jsonl", "no answers")),
        (["", "  ", ""], ("answers.jsonl", "no answers")),
    ],
)  # fmt: skip
def test_import_refuses_a_bad_file_and_creates_no_run(
    capsys, release: Path, tmp_path: Path, lines: list[str], parts: tuple[str, ...]
) -> None:
    file = _lines(tmp_path / "answers.jsonl", lines)
    assert_one_line_error(_import(capsys, release, file), *parts)
    assert _runs(release) == []


def test_a_failed_reimport_keeps_the_run_as_it_was(capsys, release: Path, tmp_path: Path) -> None:
    good = _lines(tmp_path / "good.jsonl", [json.dumps({ANGRY: "first"})])
    assert _import(capsys, release, good).code == 0
    bad = _lines(tmp_path / "answers.jsonl", [json.dumps({ANGRY: "second"}), '{"x": "\\udfff"}'])
    assert_one_line_error(_import(capsys, release, bad), "answers.jsonl:2:", "lone surrogate")
    assert _answers(release, "r") == {ANGRY: "first"}


def test_an_exported_run_with_line_separators_imports_back(
    capsys, release: Path, tmp_path: Path
) -> None:
    escaped = _lines(tmp_path / "in.jsonl", [json.dumps({ANGRY: ODD}), json.dumps({HAPPY: "ok"})])
    assert _import(capsys, release, escaped).code == 0
    exported = tmp_path / "out.jsonl"
    args = ["--data", str(release), "--workspace", str(tmp_path / "ws")]
    result = invoke(capsys, "export", "--run", "r", "--format", "reference", "--out",
                    str(exported), *args)  # fmt: skip
    assert result.code == 0, result.err
    assert "\u2028" in exported.read_text(encoding="utf-8")  # written raw, as JSON allows
    again = _import(capsys, release, exported, run="again")
    assert again.code == 0, again.err
    assert _answers(release, "again") == _answers(release, "r") == {ANGRY: ODD, HAPPY: "ok"}


# eibench annotate import -----------------------------------------------------------------------


def _annotation(image: str = ANGRY, triggers: list[str] | None = None, n: int = 1) -> str:
    record = {
        "annotation": {"batch": "b", "id": f"id{n}", "image": image, "emotion": "angry",
                       "question": "Why is he angry?", "triggers": triggers or ["A cup."]},
        "stages": [{"stage": "summary", "role": "llm", "model": "m", "prompt_version": "1",
                    "input": "notes", "output": "1. A cup."}],
    }  # fmt: skip
    return json.dumps(record)


def _annotate_import(capsys, ws: Path, file: Path, *args: str) -> Result:
    return invoke(capsys, "annotate", "import", str(file), "--workspace", str(ws), *args)


def _batch(ws: Path, batch: str = "b") -> list[tuple[str, list[str]]]:
    with Store.open(ws) as store:
        return [(a.image, a.triggers) for a in load_annotations(store, batch)]


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        (_annotation("../../../../etc/passwd", n=2), ("a.jsonl:2:", "'../../../../etc/passwd'",
                                                      "escapes the image root")),
        (_annotation("/etc/passwd", n=2), ("a.jsonl:2:", "'/etc/passwd'", "absolute path")),
        (_annotation("", n=2), ("a.jsonl:2:", "empty image key")),
        (_annotation(n=2).replace("A cup.", "A \\ud800 cup."), ("a.jsonl:2:", "lone surrogate")),
        (_annotation(n=2).replace('"A cup."', DEEP), ("a.jsonl:2:", "nested deeper than")),
        (_annotation(n=2).replace('"A cup."', LONG), ("a.jsonl:2:", "integer with 5000 digits")),
    ],
)  # fmt: skip
def test_annotate_import_refuses_a_bad_line_and_imports_nothing(
    capsys, tmp_path: Path, line: str, parts: tuple[str, ...]
) -> None:
    file = _lines(tmp_path / "a.jsonl", [_annotation(), line])
    assert_one_line_error(_annotate_import(capsys, tmp_path / "ws", file), *parts)
    assert _batch(tmp_path / "ws") == []


def test_annotate_import_of_an_empty_file_is_an_error(capsys, tmp_path: Path) -> None:
    file = _lines(tmp_path / "a.jsonl", ["", "  "])
    assert_one_line_error(_annotate_import(capsys, tmp_path / "ws", file), "no annotations")
    assert _batch(tmp_path / "ws") == []


def test_exported_annotations_with_line_separators_import_back(capsys, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    escaped = _lines(tmp_path / "in.jsonl", [_annotation(triggers=[ODD, "A shout."])])
    assert _annotate_import(capsys, ws, escaped).code == 0
    dump = tmp_path / "dump.jsonl"
    exported = invoke(capsys, "annotate", "export", "--format", "jsonl", "--out", str(dump),
                      "--batch", "b", "--workspace", str(ws))  # fmt: skip
    assert exported.code == 0, exported.err
    assert "\u2028" in dump.read_text(encoding="utf-8") and "\x85" in dump.read_text("utf-8")
    again = _annotate_import(capsys, ws, dump, "--batch", "copy")
    assert again.code == 0, again.err
    assert _batch(ws, "copy") == _batch(ws) == [(ANGRY, [ODD, "A shout."])]


# eibench annotate --question-from --------------------------------------------------------------


@pytest.fixture
def images(tmp_path: Path) -> Path:
    return make_images(tmp_path / "images", [ANGRY, HAPPY])


def _annotate(capsys, images: Path, questions: Path, monkeypatch) -> Result:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    return invoke(
        capsys, "annotate", "--images", str(images), "--emotion", "angry", "--question-from",
        str(questions), "--vlm", "openai:vlm", "--base-url", "http://127.0.0.1:9/v1",
        "--max-attempts", "1", "--workspace", str(images.parent / "ws"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lines", "parts"),
    [
        ([f'{{"{ANGRY}": "Why?", "{ANGRY}": "Why again?"}}'],
         ("q.jsonl:1:", repr(ANGRY), "duplicate")),
        ([f'{{"{HAPPY}": "Why?"}}', f'{{"{ANGRY}": "Why?"}}', f'{{"{HAPPY}": "Why?"}}'],
         ("q.jsonl:3:", repr(HAPPY), "duplicate question (first on line 1)")),
        (['{"../../../../etc/passwd": "Why?"}'],
         ("q.jsonl:1:", "'../../../../etc/passwd'", "escapes the image root")),
        (['{"/etc/passwd": "Why?"}'], ("q.jsonl:1:", "'/etc/passwd'", "absolute path")),
        ([f'{{"{ANGRY}": "Why?"}}', '{"CAER-S/train/Sad/0009.png": "Why?"}'],
         ("q.jsonl:2:", "'CAER-S/train/Sad/0009.png'", "not among the images to annotate")),
        ([f'{{"{ANGRY}": "Why \\ud800?"}}'], ("q.jsonl:1:", repr(ANGRY), "lone surrogate")),
        ([f'{{"{ANGRY}": {DEEP}}}'], ("q.jsonl:1:", "nested deeper than")),
        ([f'{{"{ANGRY}": {LONG}}}'], ("q.jsonl:1:", "integer with 5000 digits")),
    ],
)  # fmt: skip
def test_question_from_refuses_a_bad_file_before_any_request(
    capsys, images: Path, monkeypatch, lines: list[str], parts: tuple[str, ...]
) -> None:
    questions = _lines(images.parent / "q.jsonl", lines)
    assert_one_line_error(_annotate(capsys, images, questions, monkeypatch), *parts)
    assert not (images.parent / "ws").exists()


def test_question_from_and_list_files_keep_line_separators_in_their_lines(
    tmp_path: Path, images: Path
) -> None:
    odd_key = "CAER-S/train/Angry/odd\x85\u2028name.png"
    (images / odd_key).write_bytes(b"not read here")
    listing = tmp_path / "keys.txt"
    listing.write_bytes(f"{ANGRY}\r\n# a comment\r\n\r\n{odd_key}\r\n".encode())
    questions = tmp_path / "q.jsonl"
    rows = [{ANGRY: f"Why{ODD}?"}, {odd_key: "Why\u2029 now?"}]
    questions.write_text(
        "\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8"
    )
    request = AnnotateRequest(images=images, list_file=listing, emotion="angry",
                              question_from=questions, vlm="openai:v", llm="openai:v")  # fmt: skip
    items = collect_items(request)
    assert [(i.image, i.question) for i in items] == [
        (ANGRY, f"Why{ODD}?"),
        (odd_key, "Why\u2029 now?"),
    ]


# eibench review agreement --from-files ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [(DEEP, "nested deeper than"), (LONG, "integer with 5000 digits"),
     ("9" * 400, "is outside 1-5"), ('"\\ud800"', "lone surrogate")],
)  # fmt: skip
def test_release_score_files_with_bad_json(
    capsys, tmp_path: Path, value: str, problem: str
) -> None:
    scores = _lines(tmp_path / "score_1.jsonl", [f'{{"{ANGRY}": "4"}}', f'{{"{HAPPY}": {value}}}'])
    result = invoke(capsys, "review", "agreement", "--from-files", str(scores))
    assert_one_line_error(result, "score_1.jsonl:2:", problem)
