"""`eibench judge --cascade MODEL`: the offline judge decides the triggers it is sure of, the
model judge (a real loopback server, asked the entail question) the ones in its uncertain
band; stored, resumed and scored like any judging."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eibench.data import load_split
from eibench.judges.learned import default_model
from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer
from tests.test_judge_llm import _entail_hook, _no_keys  # noqa: F401 (an autouse fixture)

N = 12
MODEL = "openai:j"
JUDGE = f"semantic:all-MiniLM-L6-v2+{MODEL}"


@pytest.fixture
def server():
    with FakeServer(Behaviour()) as srv:
        srv.behaviour.hook = _entail_hook(logprobs=True)  # yes (0.9) for even-length triggers
        yield srv


@pytest.fixture
def ws(capsys, release_dir: Path, tmp_path: Path) -> Path:
    """A run of N answers that state some of their sample's triggers, loosely."""
    samples = load_split(release_dir, "basic").samples[:N]
    lines = [
        json.dumps({s.image: f"Perhaps because of {s.triggers[0].lower()}. The scene is calm."})
        for s in samples
    ]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(lines) + "\n")
    ws = tmp_path / "ws"
    args = ["import", str(answers), "--run", "r", "--model", "m", "--split", "basic"]
    assert invoke(capsys, *args, "--data", str(release_dir), "--workspace", str(ws)).code == 0
    return ws


def judge(capsys, server: FakeServer, release_dir: Path, ws: Path, *args: str) -> Any:
    return invoke(
        capsys, "judge", "--run", "r", "--judge-base-url", server.openai_url,
        "--data", str(release_dir), "--workspace", str(ws), "--timeout", "5", *args,
    )  # fmt: skip


def verdicts(ws: Path, judge_name: str) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(ws / "eibench.sqlite")
    rows = db.execute("SELECT sample_id, record FROM judgments WHERE judge = ?", (judge_name,))
    return {sid: json.loads(record)["verdict"] for sid, record in rows}


def test_cascade_asks_the_uncertain_band_and_keeps_the_sure_decisions(
    capsys, server: FakeServer, release_dir: Path, ws: Path
) -> None:
    assert judge(capsys, server, release_dir, ws, "--no-coherence").code == 0
    assert server.count == 0  # the offline judge alone asks nobody
    offline = verdicts(ws, "semantic:all-MiniLM-L6-v2")
    samples = {s.id: s for s in load_split(release_dir, "basic").samples[:N]}
    band = (0.3, 0.6)
    unsure = [(sid, t["index"]) for sid, v in offline.items() for t in v["triggers"]
              if band[0] <= t["score"] < band[1]]  # fmt: skip
    assert 0 < len(unsure) < sum(len(v["triggers"]) for v in offline.values())
    result = judge(capsys, server, release_dir, ws, "--cascade", MODEL, "--no-coherence")
    assert result.code == 0, result.err
    asked = {(sid, i) for sid, i in unsure}
    assert len({samples[s].triggers[i - 1] for s, i in asked}) <= server.count <= len(asked)
    for sid, v in verdicts(ws, JUDGE).items():
        for before, after in zip(offline[sid]["triggers"], v["triggers"], strict=True):
            if (sid, before["index"]) in asked:  # the model's yes for even-length triggers
                trigger = samples[sid].triggers[before["index"] - 1].strip()
                assert after["covered"] == (len(trigger) % 2 == 0)
                assert round(after["score"], 3) in (0.9, 0.2)
            else:
                assert after == before
        assert v["correct"] == sum(t["covered"] for t in v["triggers"])
    sent = server.count
    db = sqlite3.connect(ws / "eibench.sqlite")
    records = db.execute("SELECT record FROM judgments WHERE judge = ?", (JUDGE,))
    spent = [json.loads(r)["usage"] for (r,) in records]
    # the loopback server bills 50 prompt tokens and 1 output token per question
    assert sum(u["input_tokens"] for u in spent) == 50 * sent
    assert sum(u["output_tokens"] for u in spent) == sent
    assert judge(capsys, server, release_dir, ws, "--cascade", MODEL, "--no-coherence").code == 0
    assert server.count == sent  # resumed: nothing left to ask
    score = invoke(capsys, "score", "--run", "r", "--judge", JUDGE, "--json",
                   "--data", str(release_dir), "--workspace", str(ws))  # fmt: skip
    (table,) = json.loads(score.out)["scores"]
    assert table["version"] == f"{default_model().version} + {MODEL} on [0.3, 0.6) at 0.5"


def test_the_whole_band_sends_every_trigger(
    capsys, server: FakeServer, release_dir: Path, ws: Path
) -> None:
    result = judge(capsys, server, release_dir, ws, "--cascade", MODEL, "--cascade-band", "0,1",
                   "--cascade-threshold", "0.95", "--no-coherence")  # fmt: skip
    assert result.code == 0, result.err
    stored = verdicts(ws, JUDGE)
    assert len(stored) == N
    # at 0.95 even the model's yes (0.9) is not enough
    assert all(not t["covered"] for v in stored.values() for t in v["triggers"])


def test_a_refusing_server_stops_the_cascade_and_loses_nothing(
    capsys, server: FakeServer, release_dir: Path, ws: Path
) -> None:
    server.behaviour.hook = None
    server.behaviour.fail_rate, server.behaviour.fail_kind = 1.0, "401"
    stopped = judge(capsys, server, release_dir, ws, "--cascade", MODEL, "--cascade-band", "0,1",
                    "--no-coherence")  # fmt: skip
    assert stopped.code != 0 and len(stopped.err.strip().splitlines()) <= 2
    assert "sk-test" not in stopped.err and verdicts(ws, JUDGE) == {}
    server.behaviour.fail_rate = 0.0
    server.behaviour.hook = _entail_hook(logprobs=True)
    again = judge(capsys, server, release_dir, ws, "--cascade", MODEL, "--cascade-band", "0,1",
                  "--no-coherence")  # fmt: skip
    assert again.code == 0, again.err
    assert len(verdicts(ws, JUDGE)) == N


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--cascade", MODEL, "--cascade-band", "0.7,0.2"], "--cascade-band '0.7,0.2'"),
        (["--cascade", MODEL, "--cascade-band", "half"], "LOW,HIGH"),
        (["--cascade", MODEL, "--protocol", "entail", "--judge", MODEL], "semantic judge"),
    ],
)
def test_bad_cascade_options_are_one_line(
    capsys, server: FakeServer, release_dir: Path, ws: Path, args: list[str], problem: str
) -> None:
    result = judge(capsys, server, release_dir, ws, *args)
    assert result.code == 2 and problem in result.err
    assert len(result.err.strip().splitlines()) == 1 and server.count == 0
