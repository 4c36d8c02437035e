"""eibench through its real commands against llama.cpp's OpenAI-compatible server (the prebuilt
llama-cpp-python) serving real Qwen2.5-Coder instruct models."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from eibench.store import Store
from tests.cli import invoke
from tests.engines.conftest import INSTRUCT, SMALL, Engine, llama_cpp
from tests.tiny_vlm import tiny_llava_dir

__all__ = ["tiny_llava_dir"]


def _run(capsys, engine: Engine, release_dir: Path, ws: Path, *args: str):
    return invoke(
        capsys,
        "run",
        "--model",
        f"openai:{engine.name}",
        "--base-url",
        engine.url,
        "--data",
        str(release_dir),
        "--workspace",
        str(ws),
        "--max-tokens",
        "48",
        "--timeout",
        "120",
        *args,
    )


def _generations(ws: Path, run: str) -> dict[str, tuple[str, str | None]]:
    with Store.open(ws) as store:
        return {g.sample_id: (g.status, g.clean) for g in store.generations(run)}


def test_unserved_model_name_is_one_line_naming_the_served_ones(
    capsys, small_llm: Engine, release_dir: Path, tmp_path: Path
) -> None:
    # llama-cpp-python answers any model name with the one model it serves; eibench must not.
    result = invoke(
        capsys,
        "run", "--model", "openai:gpt-4o", "--base-url", small_llm.url, "--setting", "user",
        "--text-only", "--data", str(release_dir), "--workspace", str(tmp_path), "--limit", "3",
    )  # fmt: skip
    assert result.code == 2, result.err
    lines = [line for line in result.err.splitlines() if "does not serve" in line]
    assert len(lines) == 1, result.err
    assert f"it serves: {SMALL}" in lines[0] and "'gpt-4o'" in lines[0]
    assert "Traceback" not in result.err


def test_cot_text_only_run_answers_ten_samples_and_resumes(
    capsys, small_llm: Engine, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    args = ("--setting", "cot", "--text-only", "--limit", "10", "--run", "cot")
    first = _run(capsys, small_llm, release_dir, ws, *args)
    assert first.code == 0, first.err
    rows = _generations(ws, "cot")
    assert len(rows) == 10 and {s for s, _ in rows.values()} == {"ok"}
    assert all(text and len(text.split()) >= 3 for _, text in rows.values())
    with Store.open(ws) as store:
        usage = [g.usage for g in store.generations("cot")]
    assert all(u.input_tokens > 20 and 0 < u.output_tokens <= 48 for u in usage)
    again = _run(capsys, small_llm, release_dir, ws, *args)
    assert again.code == 0, again.err
    assert _generations(ws, "cot") == rows


def test_caption_text_only_run_with_a_local_captioner(
    capsys, small_llm: Engine, tiny_llava_dir: Path, release_dir: Path, release_images: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    ws = tmp_path / "ws"
    result = _run(
        capsys, small_llm, release_dir, ws,
        "--setting", "caption", "--text-only", "--captioner", f"hf:{tiny_llava_dir}",
        "--images", str(release_images), "--limit", "10", "--run", "cap",
    )  # fmt: skip
    assert result.code == 0, result.err
    with Store.open(ws) as store:
        generations = list(store.generations("cap"))
    assert len(generations) == 10 and all(g.status == "ok" for g in generations)
    # the prompt the engine got holds the caption, and no image was sent to it
    assert all("caption" in g.prompt.lower() for g in generations)


def test_context_overflow_is_one_bad_request_never_retried(
    capsys, engine_logs: Path, release_dir: Path, tmp_path: Path
) -> None:
    tiny_context = llama_cpp(SMALL, engine_logs, context=64).start()
    try:
        ws = tmp_path / "ws"
        args = ("--setting", "cot", "--text-only", "--limit", "2", "--run", "big")
        result = _run(capsys, tiny_context, release_dir, ws, *args)
    finally:
        tiny_context.stop()
    assert result.code == 1
    assert "re-run with --retry-failed" not in result.err  # a retry cannot help
    with Store.open(ws) as store:
        failed = list(store.generations("big"))
    assert len(failed) == 2
    for generation in failed:
        message = generation.error_message or ""
        assert generation.error_kind == "bad_request"
        assert generation.attempts == 1  # refused at once: not a retry loop
        assert "maximum context length is 64 tokens" in message and "\n" not in message


def test_structured_output_falls_back_to_the_style_the_engine_takes(
    capsys, small_llm: Engine, release_dir: Path, tmp_path: Path
) -> None:
    """llama-cpp-python refuses OpenAI's `json_schema` response format with an HTTP 500; `auto`
    finds its `json_object` + schema form (constrained: the reply is JSON to the schema), and
    `prompt` (the schema in the prompt, no constrained decoding) is taken too."""
    ws = tmp_path / "ws"
    assert _run(capsys, small_llm, release_dir, ws, "--text-only", "--limit", "1").code == 0
    with Store.open(ws) as store:
        run = store.runs()[0].name
    replies = {}
    for style in ("json_schema", "auto", "prompt"):
        judged = shutil.copytree(ws, tmp_path / style)  # each style judges the answer afresh
        invoke(
            capsys,
            "judge", "--run", run, "--protocol", "triggers", "--judge", f"openai:{SMALL}",
            "--judge-base-url", small_llm.url, "--data", str(release_dir),
            "--workspace", str(judged), "--structured-output", style, "--max-asks", "1",
            "--max-attempts", "1", "--no-cache",
        )  # fmt: skip
        with Store.open(judged) as store:
            (judgment,) = store.judgments(run, protocol="triggers")
        replies[style] = judgment
    refused = replies["json_schema"]
    assert refused.status == "failed" and refused.error_kind == "server_error"
    assert "response_format" in (refused.error_message or "")
    constrained = replies["auto"]
    assert constrained.status in ("ok", "judge_unparsed"), constrained.error_message
    assert isinstance(json.loads(constrained.raw or "")["triggers"], list)
    assert replies["prompt"].status in ("ok", "judge_unparsed"), replies["prompt"].error_message


def test_paper_judges_report_first_ask_parses_on_a_real_model(
    capsys, small_llm: Engine, instruct_llm: Engine, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    answered = _run(capsys, small_llm, release_dir, ws, "--text-only", "--limit", "6", "--run", "a")
    assert answered.code == 0, answered.err
    for protocol in ("paper-llama3", "paper-chatgpt"):
        result = invoke(
            capsys,
            "judge", "--run", "a", "--protocol", protocol, "--judge", f"openai:{INSTRUCT}",
            "--judge-base-url", instruct_llm.url, "--data", str(release_dir),
            "--workspace", str(ws), "--max-tokens", "200", "--max-asks", "2",
        )  # fmt: skip
        assert "parsed on the first ask" in result.out, result.out
        with Store.open(ws) as store:
            judgments = store.judgments("a", protocol=protocol)
        assert len(judgments) == 6
        assert {j.status for j in judgments} <= {"ok", "judge_unparsed"}
        first = sum(j.status == "ok" and j.attempts == 1 for j in judgments)
        (row,) = [line for line in result.out.splitlines() if "parsed on the first ask" in line]
        assert int(row.split()[-2]) == first, row
        assert first >= 1, result.out  # the 1.5B model follows the {score: c/t} format


def test_two_engines_share_the_load_and_a_kill_loses_nothing(
    capsys, engine_logs: Path, release_dir: Path, tmp_path: Path
) -> None:
    one = llama_cpp(SMALL, engine_logs, threads=1).start()
    two = llama_cpp(SMALL, engine_logs, threads=1).start()
    try:
        ws = tmp_path / "ws"
        args = ["--setting", "user", "--text-only", "--limit", "12", "--concurrency", "4"]
        args += ["--max-tokens", "24", "--run", "pair"]
        killer = threading.Thread(target=_kill_after_first_answers, args=(ws, two))
        killer.start()
        result = invoke(
            capsys,
            "run", "--model", f"openai:{SMALL}", "--base-url", one.url, "--base-url", two.url,
            "--data", str(release_dir), "--workspace", str(ws), "--timeout", "60", *args,
        )  # fmt: skip
        killer.join()
        rows = _generations(ws, "pair")
        assert len(rows) == 12, result.err  # nothing lost
        failed = {sid for sid, (status, _) in rows.items() if status != "ok"}
        with Store.open(ws) as store:
            kinds = {g.error_kind for g in store.generations("pair") if g.status != "ok"}
        assert kinds <= {"server_error", "unavailable"}, kinds
        served = [_served_count(engine) for engine in (one, two)]
        assert served[0] > 0 and two.process is not None and two.process.returncode is not None
        # the killed engine comes back; the rerun finishes whatever is left
        two = llama_cpp(SMALL, engine_logs, threads=1)
        two.start()
        again = invoke(
            capsys,
            "run", "--model", f"openai:{SMALL}", "--base-url", one.url, "--base-url", two.url,
            "--data", str(release_dir), "--workspace", str(ws), "--timeout", "60",
            "--retry-failed", *args,
        )  # fmt: skip
        assert again.code == 0, again.err
        assert {s for s, _ in _generations(ws, "pair").values()} == {"ok"}
        assert failed <= set(rows)
    finally:
        one.stop()
        two.stop()


def _kill_after_first_answers(ws: Path, engine: Engine) -> None:
    """kill -9 `engine` once the run has stored a few answers (within a minute)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (ws / "eibench.sqlite").exists():
            try:
                if len(_generations(ws, "pair")) >= 3:
                    break
            except Exception:  # the run is still creating its store
                pass
        time.sleep(0.2)
    engine.kill()


def _served_count(engine: Engine) -> int:
    """Chat completions the engine's log shows it answered."""
    return engine.log.read_text(errors="replace").count("POST /v1/chat/completions")


@pytest.fixture(autouse=True)
def _engine_sanity(request: pytest.FixtureRequest) -> None:
    """Every engine fixture a test uses answers before the test starts."""
    for name in ("small_llm", "instruct_llm"):
        if name in request.fixturenames:
            engine: Engine = request.getfixturevalue(name)
            with urllib.request.urlopen(f"{engine.url}/models", timeout=5) as reply:
                assert json.load(reply)["data"][0]["id"] == engine.name


def test_entail_judge_reads_llama_cpp_logprobs(
    capsys, small_llm: Engine, release_dir: Path, tmp_path: Path
) -> None:
    """llama-cpp-python returns chat logprobs in the completions shape (`top_logprobs[0]` a
    {token: logprob} map); P(yes) is read from it all the same."""
    ws = tmp_path / "ws"
    assert _run(capsys, small_llm, release_dir, ws, "--text-only", "--limit", "3").code == 0
    with Store.open(ws) as store:
        run = store.runs()[0].name
    result = invoke(
        capsys,
        "judge", "--run", run, "--protocol", "entail", "--judge", f"openai:{SMALL}",
        "--judge-base-url", small_llm.url, "--data", str(release_dir), "--workspace", str(ws),
    )  # fmt: skip
    assert result.code == 0, result.err
    with Store.open(ws) as store:
        judgments = store.judgments(run, protocol="entail")
    assert len(judgments) == 3 and all(j.status == "ok" for j in judgments)
    scores = [t.score for j in judgments if j.verdict for t in j.verdict.triggers]
    assert any(s is not None and 0 < s < 1 for s in scores), scores
