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
from eibench.judges import paper, structured
from eibench.models.base import GenerationParams, Message
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
class LLMProtocol(JudgeProtocol, ABC):
    """A protocol that asks a judge model."""

    @abstractmethod
    def messages(self, split: Split, answer: str, triggers: Sequence[str]) -> list[Message]:
        """The judge's request about `answer` against the ground-truth `triggers`."""

    @abstractmethod
    def parse(self, text: str, n_triggers: int) -> Verdict:
        """The verdict in `text`; raises `JudgeParseError` when it cannot be read."""

    @abstractmethod
    def reask(self, error: JudgeParseError) -> Message:
        """What to say when a reply could not be read."""

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


PROTOCOL_KINDS: Registry[JudgeProtocol] = Registry("judge protocol")


def register_protocol(protocol: JudgeProtocol, *, replace: bool = False) -> JudgeProtocol:
    """Make `protocol` a judge protocol chosen by its name."""
    return PROTOCOL_KINDS.register(protocol.name, protocol, replace=replace)


SEMANTIC = register_protocol(SemanticProtocol("semantic")).name
for _name in paper.PAPER_PROTOCOLS:
    register_protocol(PaperProtocol(_name))
TRIGGERS = register_protocol(TriggersProtocol(structured.PROTOCOL)).name

PROTOCOLS: tuple[str, ...] = PROTOCOL_KINDS.names()
"""The built-in protocols: semantic, paper-llama3, paper-chatgpt, triggers."""

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


def llm_protocol(name: str) -> LLMProtocol:
    """The registered protocol `name`, which must ask a judge model."""
    protocol = get_protocol(name)
    if not isinstance(protocol, LLMProtocol):
        raise EIBenchError(f"the {name} protocol does not ask a judge model")
    return protocol
