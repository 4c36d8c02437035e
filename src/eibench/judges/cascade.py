"""The cascade: the offline judge decides the triggers it is sure of; those whose P(covered)
falls in its uncertain band go to a model judge (the per-trigger `entail` protocol), whose
P(yes) decides them at its own threshold.

`uncertain` picks the triggers to send; `ModelJudge` asks them; `merge` folds the model's
answers into the offline verdict. `benchmarks/judge_cascade.py` prints the curve of share sent
against agreement on the labelled set, and fits the model's threshold there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eibench.judges.protocols import ENTAIL, PerTriggerProtocol, llm_protocol
from eibench.models.base import ChatRequest, ChatResponse, GenerationParams, Message, Usage
from eibench.records.verdict import JudgeParseError, Verdict

DEFAULT_BAND = (0.3, 0.6)  # the best point of benchmarks/judge_cascade.py with a 1.5B judge


class Band(BaseModel):
    """The offline scores [low, high) the offline judge is unsure about."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.low > self.high:
            raise ValueError(f"the band's low end {self.low} is above its high end {self.high}")
        return self

    def holds(self, score: float) -> bool:
        return self.low <= score < self.high

    def __str__(self) -> str:
        return f"[{self.low:g}, {self.high:g})"


def uncertain(verdict: Verdict, band: Band) -> list[int]:
    """The 1-based indices of the triggers whose offline score lies in `band`."""
    return [t.index for t in verdict.triggers if t.score is not None and band.holds(t.score)]


def merge(verdict: Verdict, p_yes: Mapping[int, float], threshold: float) -> Verdict:
    """`verdict` with each trigger in `p_yes` decided by the model: covered when its P(yes)
    reaches `threshold`; its score becomes that P(yes) and its evidence is kept."""
    triggers = tuple(
        t.model_copy(update={"covered": p_yes[t.index] >= threshold, "score": p_yes[t.index]})
        if t.index in p_yes
        else t
        for t in verdict.triggers
    )
    return verdict.model_copy(
        update={"triggers": triggers, "correct": sum(t.covered for t in triggers)}
    )


def sent_share(verdicts: list[Verdict], band: Band) -> float:
    """The share of all triggers that `band` sends to the model judge."""
    total = sum(len(v.triggers) for v in verdicts)
    return sum(len(uncertain(v, band)) for v in verdicts) / total if total else 0.0


class Cascade(BaseModel):
    """What a cascade judging adds to the offline judge: the model judge, the band it is
    asked about, and the P(yes) at which it counts a trigger as covered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="the model judge's spec, e.g. openai:qwen2.5-7b-instruct")
    band: Band = Band(low=DEFAULT_BAND[0], high=DEFAULT_BAND[1])
    threshold: float = Field(0.5, ge=0.0, le=1.0)

    def settings(self) -> dict[str, object]:
        """What a judging records of it (with the entail prompt's version)."""
        return {
            "model": self.model, "band": [self.band.low, self.band.high],
            "threshold": self.threshold, "prompt": _entail().version("basic"),
        }  # fmt: skip


def _entail() -> PerTriggerProtocol:
    protocol = llm_protocol(ENTAIL)
    assert isinstance(protocol, PerTriggerProtocol)
    return protocol


Ask = Callable[[ChatRequest], Awaitable[ChatResponse]]


@dataclass
class ModelJudge:
    """Asks a chat model (through `ask`: the runner's caller, with its retries, cache and
    limiter; a reply from the cache carries no usage) the `entail` question, does the answer
    state this trigger, and reads P(yes); an unreadable reply is asked again, up to `max_asks`
    in all."""

    ask: Ask
    params: GenerationParams
    max_asks: int = 3

    def __post_init__(self) -> None:
        self.protocol = _entail()
        self.params = self.protocol.params(self.params)

    async def p_yes(self, answer: str, trigger: str) -> tuple[float, Usage]:
        """P(yes), and the tokens its asks spent."""
        messages: list[Message] = self.protocol.messages(answer, trigger)
        spent = Usage()
        for _ in range(self.max_asks - 1):
            reply = await self.ask(ChatRequest(messages=messages, params=self.params))
            spent += reply.usage
            try:
                return self.protocol.read(reply), spent
            except JudgeParseError as error:
                said = Message.text("assistant", reply.text)
                messages = [*messages, said, self.protocol.reask(error)]
        reply = await self.ask(ChatRequest(messages=messages, params=self.params))
        return self.protocol.read(reply), spent + reply.usage

    async def decide(
        self, verdict: Verdict, answer: str, triggers: Sequence[str], cascade: Cascade
    ) -> tuple[Verdict, Usage]:
        """`verdict` with its uncertain triggers decided by the model, and the tokens spent."""
        sent = uncertain(verdict, cascade.band)
        found = await asyncio.gather(*(self.p_yes(answer, triggers[i - 1]) for i in sent))
        decided = {i: p for i, (p, _) in zip(sent, found, strict=True)}
        spent = sum((u for _, u in found), Usage())
        return merge(verdict, decided, cascade.threshold), spent
