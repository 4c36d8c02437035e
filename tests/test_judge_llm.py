"""LLM judging end to end: `eibench import` answers, `eibench judge` against a real loopback
server with scripted replies, then `eibench score` and `eibench compare`."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eibench.data import load_split
from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer, request_text

N = 40  # answered samples per run: the first N basic samples


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("EIBENCH_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def server():
    with FakeServer(Behaviour()) as srv:
        yield srv


def ground_truth_count(body: Any) -> int:
    text = request_text(body)
    block = text.split("Ground Truth:\n", 1)[1].split("\n\nYour Assessment:", 1)[0]
    return len(block.splitlines())


def paper_reply(body: Any) -> str:
    """Half the triggers found (rounded down), unless the answer asks for trouble."""
    text = request_text(body)
    if "UNREADABLE" in all_messages(body):
        return "I am not able to assess this record."
    if "OVERCOUNT" in text:
        return "**{Score: 9 / 3}**"
    n = ground_truth_count(body)
    return f"The record finds some.\n\n{{score: {n // 2}/{n + 1}}}\nExplanation: ..."


def all_messages(body: Any) -> str:
    return json.dumps(body.get("messages", []))


def write_answers(path: Path, release_dir: Path, marks: dict[int, str] | None = None) -> None:
    samples = load_split(release_dir, "basic").samples[:N]
    marks = marks or {}
    lines = [
        json.dumps({s.image: f"The person feels it because of the scene. {marks.get(i, '')}"})
        for i, s in enumerate(samples)
    ]
    path.write_text("\n".join(lines) + "\n")


def imported(capsys, release_dir: Path, ws: Path, run: str, marks=None) -> None:
    answers = ws.parent / f"{run}.jsonl"
    write_answers(answers, release_dir, marks)
    args = ["import", str(answers), "--run", run, "--model", "m", "--split", "basic"]
    result = invoke(capsys, *args, "--data", str(release_dir), "--workspace", str(ws))
    assert result.code == 0, result.err


def judge(capsys, server: FakeServer, release_dir: Path, ws: Path, *args: str):
    return invoke(
        capsys, "judge", "--judge-base-url", server.openai_url, "--data", str(release_dir),
        "--workspace", str(ws), "--timeout", "5", *args,
    )  # fmt: skip


def score_json(capsys, release_dir: Path, ws: Path, *args: str) -> dict[str, Any]:
    result = invoke(
        capsys, "score", "--data", str(release_dir), "--workspace", str(ws), "--json", *args
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def overall(scores: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return scores["scores"][index]["rows"][-1]


def test_paper_judge_scores_with_ground_truth_denominator_and_resumes(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = paper_reply
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "a")
    result = judge(capsys, server, release_dir, ws, "--run", "a", "--protocol", "paper-llama3",
                   "--judge", "openai:llama3-judge")  # fmt: skip
    assert result.code == 0, result.err
    assert server.count == N
    samples = load_split(release_dir, "basic").samples[:N]
    expected = sum(min(len(s.triggers) // 2, len(s.triggers)) / len(s.triggers) for s in samples)
    scores = score_json(capsys, release_dir, ws, "--run", "a")
    row = overall(scores)
    assert row["n_scored"] == N and row["n_judge_failed"] == 0
    assert row["recall"]["estimate"] == pytest.approx(expected / N)
    assert row["recall"]["low"] <= row["recall"]["estimate"] <= row["recall"]["high"]
    # the judge's own total (n + 1) gives the release's arithmetic
    judge_den = score_json(capsys, release_dir, ws, "--run", "a", "--denominator", "judge")
    expected_judge = sum((len(s.triggers) // 2) / (len(s.triggers) + 1) for s in samples) / N
    assert overall(judge_den)["recall"]["estimate"] == pytest.approx(expected_judge)
    # the rest of the basic split was never answered: counted, not dropped
    assert row["n_not_run"] == 1615 - N
    # judging again sends nothing
    again = judge(capsys, server, release_dir, ws, "--run", "a", "--protocol", "paper-llama3",
                  "--judge", "openai:llama3-judge")  # fmt: skip
    assert again.code == 0 and server.count == N


def test_unparseable_replies_are_reasked_five_times_then_stored_as_unparsed(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = paper_reply
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "a", marks={0: "UNREADABLE", 1: "OVERCOUNT"})
    result = judge(capsys, server, release_dir, ws, "--run", "a", "--protocol", "paper-chatgpt",
                   "--judge", "openai:gpt-judge")  # fmt: skip
    assert result.code == 1  # some answers could not be judged
    assert "could not be judged" in result.err
    unreadable = [r for r in server.requests if "UNREADABLE" in all_messages(r.body)]
    assert len(unreadable) == 5
    # a deterministic judge is shown its reply and told what was wrong
    last = unreadable[-1].body["messages"]
    assert [m["role"] for m in last] == ["system", "user", *["assistant", "user"] * 4]
    assert "{score: correct/total}" in last[-1]["content"]
    assert all(r.body["temperature"] == 0 for r in server.requests)
    db = sqlite3.connect(ws / "eibench.sqlite")
    statuses = dict(db.execute("SELECT status, COUNT(*) FROM judgments GROUP BY status"))
    assert statuses == {"ok": N - 1, "judge_unparsed": 1}
    row = overall(score_json(capsys, release_dir, ws, "--run", "a"))
    assert row["n_scored"] == N - 1 and row["n_judge_failed"] == 1
    zero = overall(score_json(capsys, release_dir, ws, "--run", "a", "--unparsed-as-zero"))
    assert zero["n_scored"] == N and zero["n_judge_failed"] == 0
    assert zero["recall"]["estimate"] < row["recall"]["estimate"]
    # 9/3 is capped at the ground-truth count: recall 1 for that sample, never above
    judgments = [json.loads(r[0]) for r in db.execute("SELECT record FROM judgments")]
    over = [j for j in judgments if j["verdict"] and j["verdict"]["judge_total"] == 3]
    assert len(over) == 1 and over[0]["verdict"]["correct"] == 9


def test_paper_sampling_resamples_the_same_prompt(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = paper_reply
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "a", marks={3: "UNREADABLE"})
    result = judge(capsys, server, release_dir, ws, "--run", "a", "--protocol", "paper-llama3",
                   "--judge", "openai:j", "--paper-sampling")  # fmt: skip
    assert result.code == 1
    unreadable = [r.body for r in server.requests if "UNREADABLE" in all_messages(r.body)]
    assert len(unreadable) == 5
    assert all(len(b["messages"]) == 2 for b in unreadable)
    assert all(b["temperature"] == 0.1 and b["top_p"] == 0.9 for b in unreadable)
    # judging the same run by the same judge with other settings is refused, then replaced
    other = judge(capsys, server, release_dir, ws, "--run", "a", "--protocol", "paper-llama3",
                  "--judge", "openai:j")  # fmt: skip
    assert other.code == 2 and "--replace" in other.err and "Traceback" not in other.err
    replaced = judge(capsys, server, release_dir, ws, "--run", "a", "--protocol",
                     "paper-llama3", "--judge", "openai:j", "--replace")  # fmt: skip
    assert replaced.code == 1  # the unreadable answer again


def test_paper_prompts_match_the_release_text(release_dir: Path) -> None:
    from eibench.judges.paper import build_messages

    paper = (release_dir.parent / "PAPER.md").read_text(encoding="utf-8")
    system = re.search(r"System prompt \(both judges\):\n`([^`]+)`", paper)
    task = re.search(r"User prompt, LLaMA-3 basic.*?:\n`([^`]+)`", paper)
    suffix = re.search(r'suffix:\n`"(.+?)"`', paper)
    assert system and task and suffix
    suffix_text = suffix.group(1).encode().decode("unicode_escape")
    answer, triggers = "He smiles", ["a smile", "a gift"]
    filled = suffix_text.replace("{answer}", answer).replace(
        "{numbered triggers}", "1. a smile\n2. a gift"
    )
    msgs = build_messages("paper-llama3", "basic", answer, triggers)
    assert msgs[0].plain_text() == system.group(1)
    assert msgs[1].plain_text() == task.group(1) + filled
    complex_msgs = build_messages("paper-llama3", "complex", answer, triggers)
    expected = task.group(1).replace("comprehend an", "comprehending an")
    assert complex_msgs[1].plain_text() == expected + filled
    chatgpt = build_messages("paper-chatgpt", "basic", answer, triggers)[1].plain_text()
    expected = (
        task.group(1)
        .replace("comprehend an", "comprehension an")
        .replace("5 in total.", "5 in total from Ground Truth.")
    )
    assert chatgpt == expected + filled


def test_structured_judge_stores_evidence_and_precision(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    from eibench.judges.structured import SCHEMA

    def reply(body: Any) -> str:
        found = re.search(r"\((\d+) in all\)", request_text(body))
        assert found
        n = int(found.group(1))
        return json.dumps(structured_reply(n, SCHEMA))

    server.behaviour.reply = reply
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "a")
    result = judge(capsys, server, release_dir, ws, "--run", "a", "--protocol", "triggers",
                   "--judge", "openai:j")  # fmt: skip
    assert result.code == 0, result.err
    assert all(r.body["response_format"]["type"] == "json_schema" for r in server.requests)
    scores = score_json(capsys, release_dir, ws, "--run", "a", "--protocol", "triggers")
    assert overall(scores)["n_scored"] == N
    assert scores["scores"][0]["extra"]["precision"]["estimate"] == pytest.approx(0.5)
    out = tmp_path / "export.jsonl"
    exported = invoke(capsys, "export", "--run", "a", "--format", "jsonl", "--out", str(out),
                      "--data", str(release_dir), "--workspace", str(ws))  # fmt: skip
    assert exported.code == 0, exported.err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == N
    (judged,) = records[0]["judgments"]
    assert judged["protocol"] == "triggers" and judged["status"] == "ok" and judged["current"]
    n = len(records[0]["sample"]["triggers"])
    assert judged["recall"] == pytest.approx(1 / n)
    assert judged["triggers"][0] == {"index": 1, "covered": True, "evidence": "the scene",
                                     "score": None}  # fmt: skip
    assert judged["unmatched_claims"] == ["a claim"]


def structured_reply(n: int, schema: dict[str, Any]) -> dict[str, Any]:
    """Trigger 1 covered, one claim on it and one on nothing, shaped by the schema's keys."""
    props = schema["properties"]
    trig_key = next(k for k in props if "trigger" in k)
    claim_key = next(k for k in props if "claim" in k)
    trig_props = props[trig_key]["items"]["properties"]
    claim_props = props[claim_key]["items"]["properties"]

    def trigger(i: int) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, spec in trig_props.items():
            kind = spec.get("type")
            if kind == "integer":
                values[key] = i
            elif kind == "boolean":
                values[key] = i == 1
            else:
                values[key] = "the scene" if i == 1 else ""
        return values

    def claim(matches: list[int]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, spec in claim_props.items():
            values[key] = matches if spec.get("type") == "array" else "a claim"
        return values

    return {trig_key: [trigger(i) for i in range(1, n + 1)], claim_key: [claim([1]), claim([])]}


def test_panel_agreement_and_paired_comparison(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    def reply(body: Any) -> str:
        n = ground_truth_count(body)
        strict = body["model"] == "strict"
        better = "BETTER" in request_text(body)
        found = min(n, (n // 3 if strict else n // 2) + (2 if better else 0))
        return f"{{score: {found}/{n}}}"

    server.behaviour.reply = reply
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "a")
    imported(capsys, release_dir, ws, "b", marks={i: "BETTER" for i in range(N)})
    panel = tmp_path / "panel.toml"
    panel.write_text(
        'protocol = "paper-llama3"\n'
        f'[[judge]]\nspec = "openai:strict"\nbase_url = ["{server.openai_url}"]\n'
        f'[[judge]]\nspec = "openai:lenient"\nbase_url = ["{server.openai_url}"]\n'
    )
    for run in ("a", "b"):
        result = invoke(capsys, "judge", "--run", run, "--panel", str(panel), "--data",
                        str(release_dir), "--workspace", str(ws))  # fmt: skip
        assert result.code == 0, result.err
    scores = score_json(capsys, release_dir, ws, "--run", "a", "--combine", "mean")
    panel_row = scores["panel"]["rows"][-1]
    by_judge = {s["judge"]: s["rows"][-1]["recall"]["estimate"] for s in scores["scores"]}
    strict, lenient = by_judge["openai:strict"], by_judge["openai:lenient"]
    assert panel_row["recall"]["estimate"] == pytest.approx((strict + lenient) / 2)
    assert strict < lenient
    assert -1 <= scores["panel"]["agreement"]["alpha"] <= 1
    assert scores["panel"]["agreement"]["pairs"][0]["n"] == N
    table = invoke(capsys, "score", "--run", "a", "--combine", "majority", "--data",
                   str(release_dir), "--workspace", str(ws))  # fmt: skip
    assert table.code == 0 and "Krippendorff" in table.out
    compared = invoke(capsys, "compare", "b", "a", "--judge", "openai:lenient", "--data",
                      str(release_dir), "--workspace", str(ws), "--json")  # fmt: skip
    assert compared.code == 0, compared.err
    rows = json.loads(compared.out)["rows"]
    assert rows[-1]["n"] == N and rows[-1]["diff"] > 0 and rows[-1]["p_value"] < 0.01
    assert rows[-1]["low"] <= rows[-1]["diff"] <= rows[-1]["high"]


def test_changed_answer_is_judged_again(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    server.behaviour.reply = paper_reply
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "a")
    args = ("--run", "a", "--protocol", "paper-llama3", "--judge", "openai:j")
    assert judge(capsys, server, release_dir, ws, *args).code == 0
    imported(capsys, release_dir, ws, "a", marks={5: "now different"})
    server.reset()
    assert judge(capsys, server, release_dir, ws, *args).code == 0
    assert server.count == 1 and "now different" in request_text(server.requests[0].body)


def _entail_hook(logprobs: bool):
    """Replies to the entail protocol: "yes" with P 0.9 for triggers of even length, else
    P 0.2; with `logprobs` in OpenAI's chat shape, else as text only ("maybe" for a trigger
    holding "UNSURE")."""
    from starlette.responses import JSONResponse

    def hook(record) -> Any:
        text = request_text(record.body)
        trigger = text.split("Cause:\n", 1)[1].split("\n\n", 1)[0]
        p = 0.9 if len(trigger) % 2 == 0 else 0.2
        word = "Yes" if p > 0.5 else "No"
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": word},
            "finish_reason": "stop",
        }
        if logprobs:
            alternatives = [
                {"token": "Yes", "logprob": math.log(p)},
                {"token": "No", "logprob": math.log(1 - p)},
            ]
            choice["logprobs"] = {"content": [{"token": word, "top_logprobs": alternatives}]}
        body = {"choices": [choice], "usage": {"prompt_tokens": 50, "completion_tokens": 1}}
        return JSONResponse(body)

    return hook


def test_entail_judge_asks_per_trigger_and_reads_p_yes(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "r")
    samples = load_split(release_dir, "basic").samples[:N]
    server.behaviour.hook = _entail_hook(logprobs=True)
    result = judge(capsys, server, release_dir, ws, "--run", "r", "--protocol", "entail",
                   "--judge", "openai:j")  # fmt: skip
    assert result.code == 0, result.err
    # one question per trigger; the answers are alike, so a repeated trigger may be answered
    # from the cache (unless its twin is still in flight)
    distinct = len({t.strip() for s in samples for t in s.triggers})
    assert distinct <= server.count <= sum(len(s.triggers) for s in samples)
    assert all(b["logprobs"] is True and b["top_logprobs"] == 10 for b in server.bodies())
    db = sqlite3.connect(ws / "eibench.sqlite")
    records = [json.loads(r[0]) for r in db.execute("SELECT record FROM judgments")]
    by_sample = {r["sample_id"]: r for r in records}
    for sample in samples:
        verdict = by_sample[sample.id]["verdict"]
        expected = [len(t.strip()) % 2 == 0 for t in sample.triggers]
        assert [t["covered"] for t in verdict["triggers"]] == expected
        assert {round(t["score"], 3) for t in verdict["triggers"]} <= {0.9, 0.2}
        assert verdict["correct"] == sum(expected) and verdict["total"] == len(expected)
    sent = server.count
    again = judge(capsys, server, release_dir, ws, "--run", "r", "--protocol", "entail",
                  "--judge", "openai:j")  # fmt: skip
    assert again.code == 0 and server.count == sent  # already judged: nothing to redo


def test_entail_judge_falls_back_to_the_reply_word_without_logprobs(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "r")
    server.behaviour.hook = _entail_hook(logprobs=False)
    result = judge(capsys, server, release_dir, ws, "--run", "r", "--protocol", "entail",
                   "--judge", "openai:j")  # fmt: skip
    assert result.code == 0, result.err
    db = sqlite3.connect(ws / "eibench.sqlite")
    records = [json.loads(r[0]) for r in db.execute("SELECT record FROM judgments")]
    scores = {t["score"] for r in records for t in r["verdict"]["triggers"]}
    assert scores == {0.0, 1.0}  # read from the words Yes / No


def test_entail_asks_again_when_a_reply_is_neither_yes_nor_no(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "r")

    def hedging(record) -> Any:
        from starlette.responses import JSONResponse

        text = "No." if len(record.body["messages"]) > 1 else "It is hard to say."
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        usage = {"prompt_tokens": 5, "completion_tokens": 2}
        return JSONResponse({"choices": [choice], "usage": usage})

    server.behaviour.hook = hedging
    result = judge(capsys, server, release_dir, ws, "--run", "r", "--protocol", "entail",
                   "--judge", "openai:j")  # fmt: skip
    assert result.code == 0, result.err
    assert re.search(r"parsed on the first ask\s+│?\s*0\b", result.out)
    assert re.search(rf"parsed after a re-ask\s+│?\s*{N}\b", result.out)
    reasks = [b["messages"] for b in server.bodies() if len(b["messages"]) > 1]
    assert reasks and all(
        m[1] == {"role": "assistant", "content": "It is hard to say."}
        and m[2]["content"] == 'Reply with only "yes" or "no".'
        for m in reasks
    )
    db = sqlite3.connect(ws / "eibench.sqlite")
    records = [json.loads(r[0]) for r in db.execute("SELECT record FROM judgments")]
    assert {r["attempts"] for r in records} == {2}
    assert {t["score"] for r in records for t in r["verdict"]["triggers"]} == {0.0}
    # a judge that never says yes or no: unparsed after --max-asks, never a score
    server.behaviour.hook = None
    server.behaviour.reply = lambda body: "Perhaps."
    stuck = judge(capsys, server, release_dir, ws, "--run", "r", "--protocol", "entail",
                  "--judge", "openai:k", "--max-asks", "2")  # fmt: skip
    assert stuck.code == 1 and re.search(rf"unparsed now\s+│?\s*{N}\b", stuck.out)
    rows = db.execute("SELECT record FROM judgments WHERE judge = 'openai:k'").fetchall()
    unparsed = [json.loads(r[0]) for r in rows]
    assert len(unparsed) == N
    assert all(r["status"] == "judge_unparsed" and r["attempts"] == 2 for r in unparsed)
    assert all(r["verdict"] is None and "1: Perhaps." in r["raw"] for r in unparsed)


def test_entail_with_a_fitted_judge_configuration(
    capsys, server: FakeServer, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    imported(capsys, release_dir, ws, "r")
    (ws / "judge-configs").mkdir()
    config = {"name": "strict", "protocol": "entail", "threshold": 0.95}
    (ws / "judge-configs" / "strict.json").write_text(json.dumps(config))
    server.behaviour.hook = _entail_hook(logprobs=True)
    result = judge(capsys, server, release_dir, ws, "--run", "r", "--judge", "openai:j",
                   "--judge-config", "strict")  # fmt: skip
    assert result.code == 0, result.err  # the protocol comes from the configuration
    db = sqlite3.connect(ws / "eibench.sqlite")
    records = [json.loads(r[0]) for r in db.execute("SELECT record FROM judgments")]
    assert {r["protocol"] for r in records} == {"entail"}
    assert all(not t["covered"] for r in records for t in r["verdict"]["triggers"])  # 0.9 < 0.95
    (stored,) = [json.loads(r[0]) for r in db.execute("SELECT config FROM judgings")]
    assert stored["prompt_version"].endswith("-t0.95")
    assert re.fullmatch(r"strict@[0-9a-f]{10}", stored["settings"]["judge_config"])
