"""The CFSA pipeline for one item (an image, an emotion, maybe a user question):

1. question: the LLM enriches the user's question (or writes one), the VLM reconstructs a
   detailed, image-grounded version of it;
2. general self-ask: the VLM answers the general questions;
3. scenario self-ask: the VLM writes scenario-specific questions and answers them, with optional
   further rounds while the answers still add information;
4. summary: the LLM writes the numbered trigger list, parsed and de-duplicated;
5. verify (optional): the VLM says whether the image supports each trigger.

Every stage call is a `StageRecord` stored under the item's owner key as soon as it returns, and
a stored stage is reused, so an interrupted item resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eibench.cfsa import stages as st
from eibench.cfsa.similarity import dedupe_triggers, novelty, should_continue
from eibench.embed.encoder import Encoder
from eibench.models.base import (
    ChatModel,
    ChatRequest,
    GenerationParams,
    ImagePart,
    Message,
    ModelCallError,
    Usage,
)
from eibench.models.clean import clean_text
from eibench.models.images import image_part
from eibench.records.annotation import Role, StageRecord
from eibench.runner.calls import CachedCaller, gather_or_cancel
from eibench.store import Store
from eibench.store.annotations import put_stage, stored_stage

# ask(stage, index, role, messages) -> the reply text: one stage call, stored or made now
_Ask = Callable[[str, int, Role, list[Message]], Awaitable[str]]


@dataclass(frozen=True)
class CFSAOptions:
    """The pipeline's knobs; all of them are recorded with the results."""

    general_questions: tuple[str, ...] = st.GENERAL_QUESTIONS
    scenario_questions: int = 4
    extra_rounds: int = 0  # further scenario rounds while answers add information (0: off)
    min_novelty: float = 0.15
    verify: bool = False
    max_image_side: int | None = None


@dataclass
class CFSAModels:
    vlm: ChatModel
    llm: ChatModel
    params: GenerationParams = field(default_factory=GenerationParams)
    encoder: Encoder | None = None  # for de-duplication by meaning and the novelty rule


@dataclass
class CFSAResult:
    question: str
    reconstruction: str
    triggers: list[str]
    unsupported: list[int]
    usage: Usage


class StageFailed(Exception):
    """A stage call failed for good; `kind` is the model error's kind."""

    def __init__(self, stage: str, error: ModelCallError) -> None:
        super().__init__(f"{stage}: {error}")
        self.kind = error.kind
        self.attempts = error.attempts


class Pipeline:
    """Runs the stages of items against one store, caller and pair of models."""

    def __init__(
        self,
        store: Store,
        caller: CachedCaller,
        models: CFSAModels,
        options: CFSAOptions,
        images: Path | None,
    ) -> None:
        self.store, self.caller, self.models, self.options = store, caller, models, options
        self.images = images
        self.version = st.prompt_version()

    async def ask(
        self, owner: str, stage: str, index: int, role: Role, messages: list[Message]
    ) -> tuple[str, Usage]:
        """The stage's reply text (stored or asked now) and the usage spent now."""
        stored = stored_stage(self.store, owner, stage, index)
        if stored is not None and stored.status == "ok" and stored.output is not None:
            return stored.output, Usage()
        model = self.models.vlm if role == "vlm" else self.models.llm
        prompt = "\n".join(m.plain_text() for m in messages)
        request = ChatRequest(messages=messages, params=self.models.params)
        base = {
            "stage": stage, "index": index, "role": role, "model": model.spec,
            "prompt_version": self.version, "input": prompt,
        }  # fmt: skip
        try:
            called = await self.caller.call(model, request)
        except ModelCallError as exc:
            put_stage(
                self.store, owner,
                StageRecord(**base, status="failed", attempts=exc.attempts,
                            error_kind=exc.kind, error_message=str(exc)),
            )  # fmt: skip
            raise StageFailed(stage, exc) from None
        output = clean_text(called.response.text)
        usage = Usage() if called.cached else called.response.usage
        put_stage(
            self.store, owner,
            StageRecord(**base, output=output, usage=usage, latency=called.latency,
                        attempts=called.attempts, cached=called.cached),
        )  # fmt: skip
        return output, usage

    def image(self, key: str) -> ImagePart | None:
        if self.images is None:
            return None
        return image_part(self.images, key, self.options.max_image_side)

    async def run(
        self, owner: str, image_key: str, emotion: str, question: str | None
    ) -> CFSAResult:
        """All stages for one item; raises `StageFailed` when a call fails for good."""
        image = self.image(image_key)
        spent: list[Usage] = []

        async def ask(stage: str, index: int, role: Role, messages: list[Message]) -> str:
            text, usage = await self.ask(owner, stage, index, role, messages)
            spent.append(usage)
            return text

        # 1. question (coarse): enrich or generate with the LLM, reconstruct with the VLM
        if question:
            asked = await ask("question", 0, "llm", st.enrich_question_messages(question, emotion))
        else:
            asked = await ask("question", 0, "llm", st.generate_question_messages(emotion))
        final_question = _question(asked, question, emotion)
        reconstruction = await ask(
            "reconstruct", 0, "vlm", st.reconstruct_messages(final_question, emotion, image)
        )
        # 2. general self-ask
        general = self.options.general_questions
        answers = await gather_or_cancel(
            *(
                ask("general", i, "vlm", st.general_messages(q, final_question, image))
                for i, q in enumerate(general)
            )
        )
        general_qa = list(zip(general, answers, strict=True))
        # 3. scenario self-ask (fine), with optional further rounds
        scenario_qa = await self._scenario(ask, final_question, reconstruction, general_qa, image)
        # 4. summary
        summary = await ask(
            "summary", 0, "llm",
            st.summary_messages(final_question, emotion, reconstruction, general_qa, scenario_qa),
        )  # fmt: skip
        triggers = dedupe_triggers(_triggers(summary), self.models.encoder)
        # 5. verify
        unsupported: list[int] = []
        if self.options.verify:
            verdicts = await gather_or_cancel(
                *(
                    ask("verify", i, "vlm", st.verify_messages(t, final_question, image))
                    for i, t in enumerate(triggers)
                )
            )
            unsupported = [i for i, v in enumerate(verdicts, 1) if st.parse_verify(v) is False]
        total = Usage()
        for usage in spent:
            total = total + usage
        return CFSAResult(final_question, reconstruction, triggers, unsupported, total)

    async def _scenario(
        self,
        ask: _Ask,
        question: str,
        reconstruction: str,
        general_qa: Sequence[tuple[str, str]],
        image: ImagePart | None,
    ) -> list[tuple[str, str]]:
        n = self.options.scenario_questions
        qa: list[tuple[str, str]] = []
        seen = [a for _, a in general_qa]
        for round_index in range(1 + self.options.extra_rounds):
            messages = st.scenario_questions_messages(
                question, reconstruction, general_qa, n, image, asked=[q for q, _ in qa]
            )
            reply = await ask("scenario_questions", round_index, "vlm", messages)
            questions = st.parse_questions(reply, n)
            offset = len(qa)
            answers = await gather_or_cancel(
                *(
                    ask("scenario_answer", offset + j, "vlm",
                        st.scenario_answer_messages(q, question, reconstruction, image))
                    for j, q in enumerate(questions)
                )
            )  # fmt: skip
            qa += list(zip(questions, answers, strict=True))
            if self.options.extra_rounds == 0 or self.models.encoder is None or not questions:
                break
            gain = novelty(answers, seen, self.models.encoder)
            seen += answers
            if not should_continue(
                gain, round_index + 1,
                min_novelty=self.options.min_novelty, max_rounds=1 + self.options.extra_rounds,
            ):  # fmt: skip
                break
        return qa


def _question(reply: str, given: str | None, emotion: str) -> str:
    """The stage's question; when the reply holds none, the user's question, or the plainest
    question about the emotion."""
    try:
        return st.parse_question(reply)
    except ValueError:
        return given or f"What might have caused the person in the image to feel {emotion}?"


def _triggers(summary: str) -> list[str]:
    try:
        return st.parse_summary(summary)
    except ValueError:
        return []
