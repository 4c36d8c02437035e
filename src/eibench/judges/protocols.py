"""The judge protocols by name. An LLM protocol says how to ask a judge model about one answer,
how to read the reply, and how to ask again when the reply cannot be read; `semantic` judges
offline, with no judge model.

Adding a protocol is a `JudgeProtocol` subclass and one `register_protocol` call; `--protocol`,
panel files and experiment files take the names registered here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from eibench.data.schema import Split
from eibench.errors import EIBenchError
from eibench.judges import entail, paper, structured
from eibench.models.base import ChatResponse, GenerationParams, Message
from eibench.records.verdict import JudgeParseError, Verdict
from eibench.registry import Registry


@dataclass(frozen=True)
class JudgeProtocol:
    """A way of judging answers, by name."""

    name: str
    uses_model: ClassVar[bool] = True  # False: judged offline, with no judge model


@dataclass(frozen=True)
class SemanticProtocol(JudgeProtocol):
    """The offline embedding judge (`judges.semantic`): a sentence encoder, no judge model."""

    uses_model: ClassVar[bool] = False


@dataclass(frozen=True)
class ModelProtocol(JudgeProtocol, ABC):
    """A protocol that asks a judge model: its prompt version and sampling."""

    @abstractmethod
    def version(self, split: Split) -> str:
        """The prompt version recorded with verdicts."""

    def sampling(self, base: GenerationParams) -> GenerationParams:
        """`base` as this protocol asks with it (unchanged unless it needs, say, a schema)."""
        return base

    def params(self, base: GenerationParams, paper_sampling: bool = False) -> GenerationParams:
        """The judge's sampling: `base` (deterministic by default), or the release's sampling
        with `paper_sampling`, as this protocol adjusts it."""
        if paper_sampling:
            base = paper.PAPER_SAMPLING.model_copy(update={"seed": base.seed})
        return self.sampling(base)


@dataclass(frozen=True)
class LLMProtocol(ModelProtocol):
    """A protocol that asks a judge model once per answer (and again while unreadable)."""

    @abstractmethod
    def messages(self, split: Split, answer: str, triggers: Sequence[str]) -> list[Message]:
        """The judge's request about `answer` against the ground-truth `triggers`."""

    @abstractmethod
    def parse(self, text: str, n_triggers: int) -> Verdict:
        """The verdict in `text`; raises `JudgeParseError` when it cannot be read."""

    @abstractmethod
    def reask(self, error: JudgeParseError) -> Message:
        """What to say when a reply could not be read."""


@dataclass(frozen=True)
class PaperProtocol(LLMProtocol):
    """One of the release's judges (`paper-llama3`, `paper-chatgpt`): its prompts, verbatim,
    and a tolerant reader of `{score: correct/total}`."""

    def messages(self, split: Split, answer: str, triggers: Sequence[str]) -> list[Message]:
        return paper.build_messages(self.name, split, answer, triggers)

    def parse(self, text: str, n_triggers: int) -> Verdict:
        return paper.parse_reply(text, n_triggers)

    def reask(self, error: JudgeParseError) -> Message:
        return paper.reask_message(error)

    def version(self, split: Split) -> str:
        return paper.prompt_version(self.name, split)


@dataclass(frozen=True)
class TriggersProtocol(LLMProtocol):
    """The structured judge: a verdict per trigger with evidence, as JSON to a schema."""

    def messages(self, split: Split, answer: str, triggers: Sequence[str]) -> list[Message]:
        return structured.build_messages(answer, triggers)

    def parse(self, text: str, n_triggers: int) -> Verdict:
        return structured.parse_reply(text, n_triggers)

    def reask(self, error: JudgeParseError) -> Message:
        return structured.reask_message(error)

    def version(self, split: Split) -> str:
        return structured.prompt_version()

    def sampling(self, base: GenerationParams) -> GenerationParams:
        return structured.params(base)


@dataclass(frozen=True)
class PerTriggerProtocol(ModelProtocol):
    """A protocol that asks the judge one yes/no question per ground-truth trigger and covers
    the trigger when P(yes) reaches `threshold` (`judges.entail`)."""

    threshold: float = entail.DEFAULT_THRESHOLD

    def messages(self, answer: str, trigger: str) -> list[Message]:
        return entail.build_messages(answer, trigger)

    def read(self, response: ChatResponse) -> float:
        """P(yes) of one reply; raises `JudgeParseError` when it is neither yes nor no."""
        return entail.p_yes(response)

    def reask(self, error: JudgeParseError) -> Message:
        """What to say when a reply was neither yes nor no."""
        return entail.reask_message(error)

    def verdict(self, probabilities: Sequence[float]) -> Verdict:
        return entail.verdict(probabilities, self.threshold)

    def version(self, split: Split) -> str:
        return entail.prompt_version(self.threshold)

    def sampling(self, base: GenerationParams) -> GenerationParams:
        return entail.params(base)


PROTOCOL_KINDS: Registry[JudgeProtocol] = Registry("judge protocol")


def register_protocol(protocol: JudgeProtocol, *, replace: bool = False) -> JudgeProtocol:
    """Make `protocol` a judge protocol chosen by its name."""
    return PROTOCOL_KINDS.register(protocol.name, protocol, replace=replace)


SEMANTIC = register_protocol(SemanticProtocol("semantic")).name
for _name in paper.PAPER_PROTOCOLS:
    register_protocol(PaperProtocol(_name))
TRIGGERS = register_protocol(TriggersProtocol(structured.PROTOCOL)).name
ENTAIL = register_protocol(PerTriggerProtocol(entail.PROTOCOL)).name

PROTOCOLS: tuple[str, ...] = PROTOCOL_KINDS.names()
"""The built-in protocols: semantic, paper-llama3, paper-chatgpt, triggers, entail."""

if TYPE_CHECKING:
    ProtocolName = str
else:
    ProtocolName = PROTOCOL_KINDS.literal()
"""The protocols registered when eibench is imported, as a type: what `--protocol`, a panel
file's and an experiment file's `protocol` accept."""


def check_protocol(name: str) -> str:
    """`name` when it is a registered protocol, else a one-line `EIBenchError`."""
    PROTOCOL_KINDS.get(name)
    return name


def get_protocol(name: str) -> JudgeProtocol:
    """The registered protocol `name`; an unknown one is a one-line `EIBenchError`."""
    return PROTOCOL_KINDS.get(name)


def llm_protocol(name: str) -> LLMProtocol | PerTriggerProtocol:
    """The registered protocol `name`, which must ask a judge model."""
    protocol = get_protocol(name)
    if not isinstance(protocol, (LLMProtocol, PerTriggerProtocol)):
        raise EIBenchError(f"the {name} protocol does not ask a judge model")
    return protocol
