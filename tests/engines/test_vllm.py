"""eibench through its real commands against vLLM's CPU build serving Qwen2.5-Coder-0.5B."""

from __future__ import annotations

import json
from pathlib import Path

from eibench.data import load_split
from eibench.store import Store
from tests.cli import invoke
from tests.engines.conftest import SMALL, Engine


def _run(capsys, engine: Engine, release_dir: Path, ws: Path, *args: str):
    return invoke(
        capsys,
        "run", "--model", f"openai:{engine.name}", "--base-url", engine.url,
        "--data", str(release_dir), "--workspace", str(ws), "--max-tokens", "32",
        "--timeout", "300", *args,
    )  # fmt: skip


def test_unserved_model_name_lists_what_vllm_serves(
    capsys, vllm_small: Engine, release_dir: Path, tmp_path: Path
) -> None:
    result = invoke(
        capsys,
        "run", "--model", "openai:llava", "--base-url", vllm_small.url, "--text-only",
        "--data", str(release_dir), "--workspace", str(tmp_path), "--limit", "2",
    )  # fmt: skip
    assert result.code == 2
    assert f"does not serve 'llava'; it serves: {SMALL}" in result.err


def test_cot_run_then_entail_judge_with_real_logprobs(
    capsys, vllm_small: Engine, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    args = ("--setting", "cot", "--text-only", "--limit", "10", "--run", "cot")
    first = _run(capsys, vllm_small, release_dir, ws, *args)
    assert first.code == 0, first.err
    with Store.open(ws) as store:
        generations = list(store.generations("cot"))
    assert len(generations) == 10 and all(g.status == "ok" and g.clean for g in generations)
    assert all(0 < g.usage.output_tokens <= 32 for g in generations)
    assert _run(capsys, vllm_small, release_dir, ws, *args).code == 0  # resumes: nothing left
    judged = invoke(
        capsys,
        "judge", "--run", "cot", "--protocol", "entail", "--judge", f"openai:{SMALL}",
        "--judge-base-url", vllm_small.url, "--data", str(release_dir), "--workspace", str(ws),
        "--timeout", "300",
    )  # fmt: skip
    assert judged.code == 0, judged.err
    with Store.open(ws) as store:
        judgments = store.judgments("cot", protocol="entail")
    assert len(judgments) == 10 and all(j.status == "ok" for j in judgments)
    scores = [t.score for j in judgments if j.verdict for t in j.verdict.triggers]
    assert all(s is not None and 0 <= s <= 1 for s in scores)
    # P(yes) came from logprobs: not only the 0/1 a word would give
    assert any(s not in (0.0, 1.0) for s in scores if s is not None)


def test_a_prompt_over_the_context_is_one_bad_request(
    capsys, vllm_small: Engine, release_dir: Path, tmp_path: Path
) -> None:
    """An imported answer of some 3,000 words makes the judge's prompt longer than the
    2,048-token context: vLLM refuses it with a 400, stored as `bad_request` after one
    attempt. (A prompt that fits with too large a max_tokens is not refused: vLLM caps it.)"""
    ws = tmp_path / "ws"
    sample = load_split(release_dir, "basic").samples[0]
    answers = tmp_path / "long.jsonl"
    answers.write_text(json.dumps({sample.image: "She smiles at the cake. " * 600}) + "\n")
    common = ("--data", str(release_dir), "--workspace", str(ws))
    imported = invoke(
        capsys, "import", str(answers), "--run", "long", "--model", "m", "--split", "basic", *common
    )
    assert imported.code == 0, imported.err
    result = invoke(
        capsys,
        "judge", "--run", "long", "--protocol", "paper-llama3", "--judge", f"openai:{SMALL}",
        "--judge-base-url", vllm_small.url, *common,
    )  # fmt: skip
    assert result.code == 1
    with Store.open(ws) as store:
        (judgment,) = store.judgments("long", protocol="paper-llama3")
    assert judgment.status == "failed" and judgment.error_kind == "bad_request"
    assert judgment.attempts == 1
    message = judgment.error_message or ""
    assert "maximum context length is 2048 tokens" in message and "\n" not in message
