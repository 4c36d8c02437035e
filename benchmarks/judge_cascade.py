"""The cascade's curve: share of triggers sent to a model judge against agreement.

    python scripts/provision-engines      # once, for the default local model
    python -m benchmarks.judge_cascade [--engine llama.cpp-1.5b | --base-url URL --model NAME]
        [--data ../shared/eibench] [--widest 0.2,0.7] [--cache FILE] [--cached-only]

The default offline (learned) judge scores every answer of `tests/data/judge_labels/`. Every
trigger whose P(covered) lies in the widest band is asked of the model judge with the `entail`
protocol (one yes/no question, read as P(yes)), on both folds; answers are kept in `--cache`
(JSON lines), so an interrupted run resumes and a rerun asks nothing; `--cached-only` asks
nothing and draws the curve on the answers whose uncertain triggers are all in the cache. The
model's threshold is fitted on the tune fold's sent triggers (best kappa). Then, for nested
bands around the offline threshold, it prints on the test fold the share of triggers sent and
per-trigger kappa, accuracy and mean |recall difference| with bootstrap 95% intervals, next to
the offline judge alone, and the kappa a perfect model judge would give (people's labels for
the sent triggers): the ceiling of each band.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from tests.engines.conftest import INSTRUCT, SMALL, llama_cpp
from tests.judge_labels import load_judge_labels

from benchmarks.judge_agreement import _line
from eibench.embed import load_encoder
from eibench.judges.cascade import Band, merge, sent_share, uncertain
from eibench.judges.learned import LearnedJudge
from eibench.judges.protocols import PerTriggerProtocol, llm_protocol
from eibench.models.base import ChatRequest, GenerationParams
from eibench.models.registry import ModelOptions, load_model
from eibench.records.verdict import Verdict
from eibench.review.calibration import calibrate, fit_threshold

REPO = Path(__file__).resolve().parent.parent


def _key(answer: str, trigger: str, model: str) -> str:
    return hashlib.sha256(f"{model}\0{answer}\0{trigger}".encode()).hexdigest()[:16]


def _cached(cache: Path) -> dict[str, float]:
    known: dict[str, float] = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            known[row["key"]] = row["p_yes"]
    return known


async def _ask(url: str, name: str, asks: list[tuple[str, str]], cache: Path) -> dict[str, float]:
    """P(yes) for each (answer, trigger), asked in order (an answer's triggers one after
    another, so the server's prefix cache holds the answer) and appended to `cache`."""
    known = _cached(cache)
    protocol = llm_protocol("entail")
    assert isinstance(protocol, PerTriggerProtocol)
    params = protocol.params(GenerationParams())
    model = load_model(f"openai:{name}", ModelOptions(base_urls=[url], timeout=600))
    todo = [(a, t) for a, t in asks if _key(a, t, name) not in known]
    print(f"asking {len(todo)} of {len(asks)} questions of {name} ({len(asks) - len(todo)} cached)")
    try:
        with cache.open("a", encoding="utf-8") as out:
            for n, (answer, trigger) in enumerate(todo, 1):
                request = ChatRequest(messages=protocol.messages(answer, trigger), params=params)
                reply = await model.chat(request)
                p = protocol.read(reply) if reply.text.strip() else 0.0
                known[_key(answer, trigger, name)] = p
                out.write(json.dumps({"key": _key(answer, trigger, name), "p_yes": p}) + "\n")
                out.flush()
                if n % 20 == 0:
                    print(f"  {n}/{len(todo)}")
    finally:
        await model.aclose()
    return known


def _curve(rows: list[dict[str, Any]], offline: list[Verdict], p_yes: list[dict[int, float]],
           widest: Band) -> None:  # fmt: skip
    tune = [i for i, r in enumerate(rows) if r["fold"] == "tune"]
    test = [i for i, r in enumerate(rows) if r["fold"] == "test"]
    human = {str(i): [bool(x) for x in r["labels"]] for i, r in enumerate(rows)}
    scores = {str(i): [p_yes[i].get(t.index, -1.0) for t in offline[i].triggers] for i in tune}
    masked = {i: [h for h, s in zip(human[i], scores[i], strict=True) if s >= 0] for i in scores}
    fit = fit_threshold(masked, {i: [s for s in scores[i] if s >= 0] for i in scores})
    print(f"model threshold fitted on the tune fold's {sum(map(len, masked.values()))} sent "
          f"triggers: {fit.threshold:.3f} (kappa there {fit.calibration.kappa:.3f})\n")  # fmt: skip
    print(f"{'band':<14}{'sent':>6}  {'kappa [95% CI]':<22}  {'accuracy [95% CI]':<22}  "
          "|recall diff| [95% CI]   kappa if people decided the sent ones")  # fmt: skip
    test_human = {str(i): human[str(i)] for i in test}
    alone = calibrate(test_human, {str(i): [t.covered for t in offline[i].triggers] for i in test})
    print(_line("offline", alone).replace(f"{alone.n_samples:>8}{alone.n_triggers:>9}", " " * 6))
    centre, steps = (widest.low + widest.high) / 2, 5
    for k in range(1, steps + 1):
        half = (widest.high - widest.low) / 2 * k / steps
        band = Band(low=round(centre - half, 3), high=round(centre + half, 3))
        sent = {i: uncertain(offline[i], band) for i in test}
        model = _merged(
            offline, {i: {j: p_yes[i][j] for j in sent[i]} for i in test}, fit.threshold
        )
        people = {i: {j: float(human[str(i)][j - 1]) for j in sent[i]} for i in test}
        c = calibrate(test_human, model)
        ceiling = calibrate(test_human, _merged(offline, people, 0.5)).kappa
        share = sent_share([offline[i] for i in test], band)
        line = _line(str(band), c).replace(f"{c.n_samples:>8}{c.n_triggers:>9}", f"{share:>6.0%}")
        print(f"{line}   {ceiling:.3f}")


def _merged(
    offline: list[Verdict], decided: dict[int, dict[int, float]], threshold: float
) -> dict[str, list[bool]]:
    """Covered flags of the answers in `decided`, its triggers decided at `threshold`."""
    return {
        str(i): [t.covered for t in merge(offline[i], found, threshold).triggers]
        for i, found in decided.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eibench")
    parser.add_argument("--engine", default=INSTRUCT, choices=(INSTRUCT, SMALL))
    parser.add_argument("--base-url", help="an OpenAI-compatible server instead of --engine")
    parser.add_argument("--model", help="the model name the server serves (with --base-url)")
    parser.add_argument("--widest", default="0.2,0.7", help="the widest band: LOW,HIGH")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "judge_cascade.jsonl")
    parser.add_argument(
        "--cached-only", action="store_true", help="ask nothing; use the answers in --cache"
    )
    args = parser.parse_args()
    low, high = (float(x) for x in args.widest.split(","))
    widest = Band(low=low, high=high)
    rows = load_judge_labels(args.data)
    offline = LearnedJudge(load_encoder("minilm")).judge_many(
        [(r["answer"], r["triggers"]) for r in rows]
    )
    asks = [(r["answer"], r["triggers"][j - 1]) for r, v in zip(rows, offline, strict=True)
            for j in uncertain(v, widest)]  # fmt: skip
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    if args.cached_only:
        name = args.model or args.engine
        known = _cached(args.cache)
        whole = [
            all(
                _key(r["answer"], r["triggers"][j - 1], name) in known for j in uncertain(v, widest)
            )
            for r, v in zip(rows, offline, strict=True)
        ]
        rows = [r for r, ok in zip(rows, whole, strict=True) if ok]
        offline = [v for v, ok in zip(offline, whole, strict=True) if ok]
        print(f"--cached-only: the {len(rows)} answers whose uncertain triggers are all asked")
    elif args.base_url:
        name = args.model or "model"
        known = asyncio.run(_ask(args.base_url, name, asks, args.cache))
    else:
        name = args.engine
        engine = llama_cpp(args.engine, Path(tempfile.mkdtemp()), context=4096).start()
        try:
            known = asyncio.run(_ask(engine.url, name, asks, args.cache))
        finally:
            engine.stop()
    p_yes = [
        {j: known[_key(r["answer"], r["triggers"][j - 1], name)] for j in uncertain(v, widest)}
        for r, v in zip(rows, offline, strict=True)
    ]
    print(f"\ncascade: learned offline judge, then {name} (entail) on the uncertain band")
    _curve(rows, offline, p_yes, widest)


if __name__ == "__main__":
    main()
