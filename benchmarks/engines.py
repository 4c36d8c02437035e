"""Real engines and real models, measured: what a small local judge gets you.

    python scripts/provision-engines          # once
    python -m benchmarks.engines [--data ../shared/eibench] [--answers N] [--engines ...]

For each engine and model (llama.cpp's server through llama-cpp-python with Qwen2.5-Coder
0.5B and 1.5B; vLLM's CPU build with the 0.5B), prints:

- start-up: seconds from launch to an answering `/v1/models`;
- output tokens/s: one 96-token reply;
- verdicts/s of the `entail` judge (one yes/no question per trigger) at concurrency 1, 4, 8;
- agreement of `entail` with the labelled set `tests/data/semantic_labels.jsonl` (the first
  `--answers` answers) on its test fold, at P(yes) >= 0.5 and at the threshold fitted on its
  tune fold (as `eibench judge calibrate --save` fits one): per-trigger Cohen's kappa and
  accuracy, and mean |recall difference|;
- the share of `paper-llama3` replies that parse on the first ask, and the mean |recall
  difference| of its count against the labelled count.

Calls go through eibench's own OpenAI backend, uncached. Figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tests.engines.conftest import INSTRUCT, SMALL, Engine, llama_cpp, vllm
from tests.semantic_labels import agreement, load_labelled

from eibench.judges.protocols import PerTriggerProtocol, llm_protocol
from eibench.models.base import ChatModel, ChatRequest, ChatResponse, GenerationParams, Message
from eibench.models.registry import ModelOptions, load_model
from eibench.records.verdict import JudgeParseError
from eibench.review.calibration import fit_threshold

REPO = Path(__file__).resolve().parent.parent
ENGINES = {
    "llama.cpp-0.5b": lambda logs: llama_cpp(SMALL, logs),
    "llama.cpp-1.5b": lambda logs: llama_cpp(INSTRUCT, logs),
    "vllm-0.5b": lambda logs: vllm(logs),
}


async def _bounded(model: ChatModel, requests: Sequence[ChatRequest], concurrency: int) -> list:
    gate = asyncio.Semaphore(concurrency)

    async def one(request: ChatRequest) -> Any:
        async with gate:
            return await model.chat(request)

    return list(await asyncio.gather(*(one(r) for r in requests)))


def _entail_requests(rows: Sequence[dict[str, Any]]) -> list[ChatRequest]:
    protocol = llm_protocol("entail")
    assert isinstance(protocol, PerTriggerProtocol)
    params = protocol.params(GenerationParams())
    return [
        ChatRequest(messages=protocol.messages(row["answer"], trigger), params=params)
        for row in rows
        for trigger in row["triggers"]
    ]


async def _measure(engine: Engine, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    model = load_model(f"openai:{engine.name}", ModelOptions(base_urls=[engine.url], timeout=600))
    out: dict[str, Any] = {"start-up s": engine.started_in}
    try:
        ask = ChatRequest(
            messages=[Message.text("user", "Describe a birthday party in detail.")],
            params=GenerationParams(max_tokens=96),
        )
        start = time.perf_counter()
        reply = await model.chat(ask)
        out["output tok/s"] = reply.usage.output_tokens / (time.perf_counter() - start)
        out.update(await _entail(model, rows))
        out.update(await _paper(model, rows))
    finally:
        await model.aclose()
    return out


async def _entail(model: ChatModel, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every trigger's question asked once: a slice of them at each concurrency (a different
    slice each, so no server-side prefix cache is reused), the rest at 8; then agreement at
    the default threshold and at the one fitted on the tune fold, both on the test fold."""
    protocol = llm_protocol("entail")
    assert isinstance(protocol, PerTriggerProtocol)
    requests = _entail_requests(rows)
    out: dict[str, Any] = {}
    replies: list[ChatResponse] = []
    part = max(4, len(requests) // 8)
    for concurrency in (1, 4, 8):
        chunk = requests[len(replies) : len(replies) + part]
        start = time.perf_counter()
        replies += await _bounded(model, chunk, concurrency)
        out[f"entail verdicts/s @{concurrency}"] = len(chunk) / (time.perf_counter() - start)
    replies += await _bounded(model, requests[len(replies) :], 8)
    p_yes = iter([protocol.read(r) if r.text.strip() else 0.0 for r in replies])
    scores = {str(i): [next(p_yes) for _ in row["triggers"]] for i, row in enumerate(rows)}
    folds = {f: [str(i) for i, r in enumerate(rows) if r["fold"] == f] for f in ("tune", "test")}
    test_rows = [rows[int(i)] for i in folds["test"]]
    human = {str(i): [bool(x) for x in row["labels"]] for i, row in enumerate(rows)}
    fit = fit_threshold({i: human[i] for i in folds["tune"]}, scores)
    for label, threshold in (("0.5", protocol.threshold), ("fitted", fit.threshold)):
        predicted = [[int(p >= threshold) for p in scores[i]] for i in folds["test"]]
        out[f"entail @{label}: kappa / acc / recall err"] = agreement(test_rows, predicted)
    out["entail fitted threshold (tune fold)"] = fit.threshold
    return out


async def _paper(model: ChatModel, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """paper-llama3 on each answer, asked once: the parse share and recall agreement."""
    protocol = llm_protocol("paper-llama3")
    assert not isinstance(protocol, PerTriggerProtocol)
    params = protocol.params(GenerationParams(max_tokens=256))
    requests = [
        ChatRequest(
            messages=protocol.messages(r["split"], r["answer"], r["triggers"]), params=params
        )
        for r in rows
    ]
    replies = await _bounded(model, requests, 8)
    errors = []
    for row, reply in zip(rows, replies, strict=True):
        try:
            verdict = protocol.parse(reply.text, len(row["triggers"]))
        except JudgeParseError:
            continue
        errors.append(abs(verdict.recall - float(np.mean(row["labels"]))))
    return {
        "paper-llama3 parsed on first ask": len(errors) / len(rows),
        "paper-llama3 recall err (parsed)": float(np.mean(errors)) if errors else float("nan"),
    }


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return " / ".join(f"{v:.2f}" for v in value)
    return f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eibench")
    parser.add_argument("--answers", type=int, default=None, help="labelled answers (all)")
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    args = parser.parse_args()
    # a plain kill still stops the engine it started (the finally below runs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    rows = load_labelled(args.data)[: args.answers]
    n_triggers = sum(len(r["triggers"]) for r in rows)
    print(f"{len(rows)} labelled answers, {n_triggers} trigger decisions")
    with tempfile.TemporaryDirectory() as logs:
        for name in args.engines:
            engine = ENGINES[name](Path(logs)).start()
            try:
                figures = asyncio.run(_measure(engine, rows))
            finally:
                engine.stop()
            print(f"\n{name}")
            for key, value in figures.items():
                print(f"  {key:<36}{_show(value):>20}")


if __name__ == "__main__":
    main()
