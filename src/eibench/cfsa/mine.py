"""Mining the general self-ask questions, as the paper chose its four: a model proposes open
questions for a sample of images, the proposals are clustered by meaning, and the k most
frequent clusters become the general question set."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from rich.console import Console

from eibench.cfsa import stages as st
from eibench.cfsa.refine import QuestionCluster, cluster_questions
from eibench.data.images import ImageError
from eibench.models.base import ChatRequest, GenerationParams, ModelCallError, Usage
from eibench.models.clean import clean_text
from eibench.models.registry import ModelOptions, load_model, parse_spec
from eibench.runner.calls import CachedCaller, drain
from eibench.runner.progress import RunProgress
from eibench.runner.retry import RetryPolicy
from eibench.settings.media import image_part
from eibench.store import Store


def mine_questions(
    images: Path,
    keys: list[str],
    llm: str,
    *,
    k: int = 4,
    per_image: int = 5,
    sample: int | None = 50,
    seed: int = 0,
    options: ModelOptions | None = None,
    workspace: Path | None = None,
    concurrency: int = 8,
    console: Console | None = None,
) -> tuple[list[QuestionCluster], int]:
    """The k largest clusters of the questions proposed for a seeded sample of `keys`, and how
    many questions were proposed."""
    parse_spec(llm)
    chosen = keys
    if sample and sample < len(keys):
        chosen = sorted(random.Random(seed).sample(keys, sample))
    proposed: list[str] = []

    async def work(store: Store, progress: RunProgress) -> None:
        model_options = options or ModelOptions()
        model = load_model(llm, model_options)
        policy = RetryPolicy(timeout=model_options.timeout)
        caller = CachedCaller(store, progress, concurrency=concurrency, policy=policy)

        async def handle(key: str) -> None:
            try:
                messages = st.mine_messages(image_part(images, key, 768), per_image)
                request = ChatRequest(messages=messages, params=GenerationParams())
                called = await caller.call(model, request)
            except (ModelCallError, ImageError):  # this image proposes nothing; the rest go on
                progress.advance(False, Usage())
                return
            proposed.extend(st.parse_questions(clean_text(called.response.text), per_image))
            progress.advance(True, called.response.usage)

        try:
            await drain(chosen, concurrency, handle, lambda: caller.stopped is not None)
        finally:
            await model.aclose()

    with Store.open(workspace) as store, RunProgress("mine questions", len(chosen), console) as p:
        asyncio.run(work(store, p))
    from eibench.embed import load_encoder

    return cluster_questions(proposed, load_encoder(), k), len(proposed)
