"""`eibench judge --paper-sampling`: the release's judging (EI_Basic/gpt-eval.py, llama3-eval.py
and their EI_Complex twins at commit aff98d0), checked on the request bodies a real loopback
server receives, and the release's raw ground truth kept by the data layer."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eibench.data import load_split
from eibench.data.schema import Split
from eibench.data.triggers import numbered
from eibench.judges import paper
from tests.cli import Result, invoke
from tests.fake_server import Behaviour, FakeServer

# The release's judge texts, as the scripts write them (gpt-eval.py lines 22 and 50,
# llama3-eval.py line 32, llama3-eval-complex.py line 34).
SYSTEM = (
    "You are a helpful and precise assistant for checking the quality of the answer. "
    "Only say the content user wanted."
)
_TASK = (
    "Your task is to assess a record aimed at {verb} an emotion and compare it against the "
    "truth label. Determine the number of potential triggers identified correctly versus those "
    "missed. Please provide your assessment in the format: {{score: correct/total}}, e.g. "
    "{{score: 2/5}} for 2 correct and 5 in total{tail}. And include an explanation of your "
    "assessment."
)
CHATGPT_TASK = _TASK.format(verb="comprehension", tail=" from Ground Truth")
LLAMA3_COMPLEX_TASK = _TASK.format(verb="comprehending", tail="")

# An answer as LLaVA wrote it, special tokens included; a basic and a complex sample whose
# release ground truth is not eibench's renumbered list (a double space; " 4." on its line).
ANSWER = "<s> She waves a hand because she is excited.</s>"
BASIC_INDEX, BASIC_TRUTH = 553, "1.  excitement.\n2. Joyful expression.\n3. Waving a hand."
COMPLEX_INDEX = 7


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("EIBENCH_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(Behaviour()) as srv:
        yield srv


def replies(*texts: str) -> Any:
    """A reply function giving `texts` in turn, then the last one for ever."""
    given = iter(texts)
    last = [texts[-1]]

    def reply(body: Any) -> str:
        last[0] = next(given, last[0])
        return last[0]

    return reply


def imported(capsys: Any, release_dir: Path, ws: Path, split: Split, index: int) -> None:
    """Run `a`: the answer `ANSWER` to sample `index` of `split` (complex: the samples before
    it get a plain answer, since complex answers are matched by line order)."""
    samples = load_split(release_dir, split).samples
    chosen = samples[: index + 1] if split == "complex" else [samples[index]]
    path = ws.parent / "answers.jsonl"
    lines = [json.dumps({s.image: ANSWER if s is samples[index] else "Plain."}) for s in chosen]
    path.write_text("\n".join(lines) + "\n")
    args = ["import", str(path), "--run", "a", "--model", "m", "--split", split]
    result = invoke(capsys, *args, "--data", str(release_dir), "--workspace", str(ws))
    assert result.code == 0, result.err


def judge(capsys: Any, server: FakeServer, release_dir: Path, ws: Path, *args: str) -> Result:
    return invoke(
        capsys, "judge", "--run", "a", "--judge-base-url", server.openai_url,
        "--data", str(release_dir), "--workspace", str(ws), "--timeout", "5", *args,
    )  # fmt: skip


def prompt(task: str, answer: str, truth: str) -> str:
    return (
        f"{task} The record is below:\n\nRecord of comprehension:\n{answer}. Here is the "
        f"ground truth label:\n\nGround Truth:\n{truth}\n\nYour Assessment:"
    )


def body(model: str, user: str, **sampling: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    return {"model": model, "messages": messages, **sampling}


def judgments(ws: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(ws / "eibench.sqlite")
    return [json.loads(row[0]) for row in db.execute("SELECT record FROM judgments")]


def judging(ws: Path) -> dict[str, Any]:
    db = sqlite3.connect(ws / "eibench.sqlite")
    (config,) = db.execute("SELECT config FROM judgings").fetchone()
    return dict(json.loads(config))


# Request bodies ------------------------------------------------------------------------------


def test_release_chatgpt_request_is_the_scripts_request(
    capsys: Any, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = replies("{score: 1/3}")
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "basic", BASIC_INDEX)
    result = judge(capsys, server, release_dir, ws, "--protocol", "paper-chatgpt",
                   "--judge", "openai:gpt-3.5-turbo", "--paper-sampling")  # fmt: skip
    assert result.code == 0, result.err
    (request,) = server.requests
    # temperature 0.1, max_tokens 512, no top_p, no seed; the raw answer and truth string
    expected = body(
        "gpt-3.5-turbo",
        prompt(CHATGPT_TASK, ANSWER, BASIC_TRUTH),
        temperature=0.1,
        max_tokens=512,
    )
    assert request.body == expected
    assert json.loads(request.raw) == expected
    assert json.dumps(BASIC_TRUTH)[1:-1].encode() in request.raw
    config = judging(ws)
    assert config["prompt_version"].endswith("-release")
    assert config["params"]["top_p"] is None and config["params"]["temperature"] == 0.1
    assert config["settings"] == {"max_asks": 5, "paper_sampling": True}


def test_release_llama3_complex_request_is_the_scripts_request(
    capsys: Any, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = replies("Found some. {Score: 2/5}")
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "complex", COMPLEX_INDEX)
    result = judge(capsys, server, release_dir, ws, "--protocol", "paper-llama3",
                   "--judge", "openai:llama3", "--paper-sampling")  # fmt: skip
    assert result.code == 0, result.err
    sample = load_split(release_dir, "complex").samples[COMPLEX_INDEX]
    truth = sample.truth_text
    assert truth is not None and "\n 4. Happy" in truth and truth != numbered(sample.triggers)
    (request,) = [r for r in server.requests if ANSWER[4:20] in json.dumps(r.body)]
    expected = body(
        "llama3",
        prompt(LLAMA3_COMPLEX_TASK, ANSWER, truth),
        temperature=0.1,
        max_tokens=512,
        top_p=0.9,
    )
    assert request.body == expected


def test_default_request_is_unchanged(
    capsys: Any, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = replies("{score: 1/3}")
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "basic", BASIC_INDEX)
    result = judge(capsys, server, release_dir, ws, "--protocol", "paper-chatgpt",
                   "--judge", "openai:gpt-3.5-turbo")  # fmt: skip
    assert result.code == 0, result.err
    (request,) = server.requests
    # the cleaned answer, eibench's renumbered triggers, temperature 0
    renumbered = "1. excitement.\n2. Joyful expression.\n3. Waving a hand."
    clean = "She waves a hand because she is excited."
    expected = body(
        "gpt-3.5-turbo", prompt(CHATGPT_TASK, clean, renumbered), temperature=0.0, max_tokens=512
    )
    assert request.body == expected
    config = judging(ws)
    assert config["prompt_version"] == paper.prompt_version("paper-chatgpt", "basic")
    assert config["prompt_version"] == "a203aedb435c"  # the version before --paper-sampling
    assert config["settings"] == {"max_asks": 5}


# Asking again --------------------------------------------------------------------------------


def test_unreadable_reply_gets_the_identical_request_again(
    capsys: Any, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = replies("I cannot assess this record.", "{score: 2/3}")
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "basic", BASIC_INDEX)
    result = judge(capsys, server, release_dir, ws, "--protocol", "paper-chatgpt",
                   "--judge", "openai:gpt-3.5-turbo", "--paper-sampling")  # fmt: skip
    assert result.code == 0, result.err
    first, second = server.requests
    assert first.raw == second.raw  # the same bytes: no turn added, a fresh sample asked for
    assert len(second.body["messages"]) == 2
    (judged,) = judgments(ws)
    assert judged["status"] == "ok" and judged["attempts"] == 2
    assert judged["verdict"]["correct"] == 2 and judged["raw"] == "{score: 2/3}"
    # judging again answers both asks from the call cache, one key per ask
    again = judge(capsys, server, release_dir, ws, "--protocol", "paper-chatgpt",
                  "--judge", "openai:gpt-3.5-turbo", "--paper-sampling", "--replace")  # fmt: skip
    assert again.code == 0, again.err
    assert len(server.requests) == 2


def test_release_llama3_asks_five_times_at_most_then_stores_the_last_reply(
    capsys: Any, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    # "{score:2/3}" reads for eibench, but lacks the "{score: " llama3-eval.py looked for
    server.behaviour.reply = replies("no score 1", "no score 2", "3", "4", "{score:2/3}")
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "basic", BASIC_INDEX)
    result = judge(capsys, server, release_dir, ws, "--protocol", "paper-llama3",
                   "--judge", "openai:llama3", "--paper-sampling", "--max-asks", "9")  # fmt: skip
    assert result.code == 1  # could not be judged
    assert len(server.requests) == 5
    assert len({r.raw for r in server.requests}) == 1
    (judged,) = judgments(ws)
    assert judged["status"] == "judge_unparsed" and judged["attempts"] == 5
    assert judged["raw"] == "{score:2/3}"  # the last real reply, not the release's "{score: 0/1}"
    assert "'{score: '" in judged["error_message"]
    assert judging(ws)["settings"]["max_asks"] == 5


def test_release_chatgpt_asks_up_to_max_asks_and_keeps_a_reply_with_its_mark(
    capsys: Any, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = replies(*["Hmm."] * 6, "{score: N/A}")
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "basic", BASIC_INDEX)
    result = judge(capsys, server, release_dir, ws, "--protocol", "paper-chatgpt",
                   "--judge", "openai:gpt", "--paper-sampling", "--max-asks", "8")  # fmt: skip
    assert result.code == 1
    # gpt-eval.py stops at the first reply holding "{score", read or not: 7 asks, not 8
    assert len(server.requests) == 7
    (judged,) = judgments(ws)
    assert judged["status"] == "judge_unparsed" and judged["raw"] == "{score: N/A}"
    assert judging(ws)["settings"]["max_asks"] == 8


def test_paper_sampling_is_refused_for_protocols_the_release_did_not_have(
    capsys: Any, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "basic", BASIC_INDEX)
    for protocol in ("triggers", "semantic"):
        result = judge(capsys, server, release_dir, ws, "--protocol", protocol,
                       "--judge", "openai:j", "--paper-sampling")  # fmt: skip
        assert result.code == 2 and "--paper-sampling" in result.err
        assert "Traceback" not in result.err
    assert server.requests == []


# The data layer ------------------------------------------------------------------------------


def release_truths(release_dir: Path) -> dict[tuple[str, str], str]:
    """(image, question) -> the release's ground-truth string, read straight from the files."""
    truths: dict[tuple[str, str], str] = {}
    basic = json.loads((release_dir / "EI_Basic" / "basic_ground_truth.json").read_text())
    for line in (release_dir / "EI_Basic" / "user.jsonl").read_text().splitlines():
        for image, question in json.loads(line).items():
            truths[image, question] = basic[image]
    for line in (release_dir / "EI_Complex" / "ec_complex.jsonl").read_text().splitlines():
        for image, inner in json.loads(line).items():
            truths.update({(image, q): text for q, text in inner.items()})
    return truths


def test_samples_keep_the_release_truth_string_and_seven_differ(release_dir: Path) -> None:
    truths = release_truths(release_dir)
    samples = [s for split in ("basic", "complex") for s in load_split(release_dir, split).samples]
    assert len(samples) == 1665
    assert all(s.truth_text == truths[s.image, s.question] for s in samples)
    differ = [s for s in samples if s.truth_text != numbered(s.triggers)]
    assert len(differ) == 7
    assert sum(s.split == "complex" for s in differ) == 1


def test_truth_text_leaves_ids_dumps_and_fingerprints_as_they_were(release_dir: Path) -> None:
    basic, complex_ = load_split(release_dir, "basic"), load_split(release_dir, "complex")
    assert (basic.fingerprint, complex_.fingerprint) == ("3c95a949856d68c8", "3081a941000b24b7")
    assert basic.samples[0].id == "3a2b740b950b60c9"
    assert "truth_text" not in basic.samples[0].model_dump()
    assert "truth_text" not in basic.samples[0].model_dump_json()
