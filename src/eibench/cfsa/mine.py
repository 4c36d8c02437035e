"""Mining the general self-ask questions, as the paper chose its four: a model proposes open
questions for a sample of images, the proposals are clustered by meaning, and the k most
frequent clusters become the general question set."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from eibench.cfsa import stages as st
from eibench.cfsa.similarity import QuestionCluster, cluster_questions
from eibench.data.images import ImageError
from eibench.models.base import ChatModel, ChatRequest, GenerationParams, ModelCallError
from eibench.models.clean import clean_text
from eibench.models.images import image_part
from eibench.models.registry import ModelOptions, load_model, parse_spec
from eibench.runner.calls import CachedCaller
from eibench.runner.engine import JobOptions, Outcome, StageRun, Tally, run_stage
from eibench.runner.progress import OnProgress
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
    on_progress: OnProgress | None = None,
) -> tuple[list[QuestionCluster], int]:
    """The k largest clusters of the questions proposed for a seeded sample of `keys`, and how
    many questions were proposed."""
    parse_spec(llm)
    chosen = keys
    if sample and sample < len(keys):
        chosen = sorted(random.Random(seed).sample(keys, sample))
    model_options = options or ModelOptions()
    stage = _Proposing(images, per_image, load_model(llm, model_options))
    job = JobOptions(concurrency=concurrency, timeout=model_options.timeout)
    with Store.open(workspace) as store:
        run_stage(StageRun("mine questions", chosen, stage.bind), store, job, Tally(), on_progress)
    from eibench.embed import load_encoder

    return cluster_questions(stage.proposed, load_encoder(), k), len(stage.proposed)


@dataclass
class _Proposing:
    """The stage: ask the model for open questions about one image; nothing is stored but the
    call cache, so a rerun asks nothing again."""

    images: Path
    per_image: int
    model: ChatModel
    proposed: list[str] = field(default_factory=list)
    caller: CachedCaller | None = None

    def bind(self, caller: CachedCaller) -> _Proposing:
        self.caller = caller
        return self

    async def work(self, key: str) -> list[str] | ModelCallError | ImageError:
        assert self.caller is not None
        try:
            messages = st.mine_messages(image_part(self.images, key, 768), self.per_image)
            request = ChatRequest(messages=messages, params=GenerationParams())
            called = await self.caller.call(self.model, request)
        except (ModelCallError, ImageError) as exc:  # this image proposes nothing
            return exc
        return st.parse_questions(clean_text(called.response.text), self.per_image)

    def error_kind(self, result: list[str] | ModelCallError | ImageError) -> str | None:
        if isinstance(result, ModelCallError):
            return result.kind
        return "input" if isinstance(result, ImageError) else None

    def commit(self, result: list[str] | ModelCallError | ImageError) -> Outcome:
        if not isinstance(result, list):
            return Outcome(failed=1)
        self.proposed.extend(result)
        return Outcome(ok=1)

    async def aclose(self) -> None:
        await self.model.aclose()
