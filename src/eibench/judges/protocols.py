"""The judge protocols by name. An LLM protocol says how to ask a judge model about one answer,
how to read the reply, and how to ask again when the reply cannot be read; `semantic` judges
offline, with no judge model.

Adding a protocol is a `JudgeProtocol` subclass and one `register_protocol` call; `--protocol`,
panel files and experiment files take the names registered here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from eibench.data.schema import Sample, Split
from eibench.data.triggers import numbered
from eibench.errors import EIBenchError
from eibench.judges import entail, paper, structured
from eibench.models.base import ChatResponse, GenerationParams, Message
from eibench.models.clean import clean_text
from eibench.records.runs import Generation
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

    def params(self, base: GenerationParams) -> GenerationParams:
        """The judge's sampling: `base` (deterministic by default) as this protocol adjusts
        it."""
        return self.sampling(base)

    def asks(self, limit: int) -> int:
        """How many times one question is asked while its reply cannot be read, given
        `--max-asks`."""
        return limit


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

    def question(self, sample: Sample, answer: Generation) -> list[Message]:
        """The judge's request about a stored answer to `sample` (its cleaned text)."""
        return self.messages(sample.split, answer.clean or "", sample.triggers)

    def read(self, reply: str, n_triggers: int) -> Verdict:
        """The verdict in a raw reply, read once special tokens and reasoning are stripped."""
        return self.parse(clean_text(reply), n_triggers)

    def settles(self, reply: str) -> bool:
        """Whether an unreadable `reply` ends the asking all the same."""
        return False


@dataclass(frozen=True)
class PaperProtocol(LLMProtocol):
    """One of the release's judges (`paper-llama3`, `paper-chatgpt`): its prompts, verbatim,
    and a tolerant reader of `{score: correct/total}`.

    With `release` (`--paper-sampling`) it judges as the release's script did: its sampling,
    the raw answer and the release file's ground-truth string in the prompt, the same request
    sent again until the reply passes the script's test, and the script's bound on asks."""

    release: bool = False

    def messages(self, split: Split, answer: str, triggers: Sequence[str]) -> list[Message]:
        return paper.build_messages(self.name, split, answer, triggers)

    def parse(self, text: str, n_triggers: int) -> Verdict:
        return paper.parse_reply(text, n_triggers)

    def reask(self, error: JudgeParseError) -> Message:
        return paper.reask_message(error)

    def version(self, split: Split) -> str:
        return paper.prompt_version(self.name, split, release=self.release)

    def question(self, sample: Sample, answer: Generation) -> list[Message]:
        if not self.release:
            return super().question(sample, answer)
        text = answer.raw if answer.raw is not None else answer.clean or ""
        truth = sample.truth_text if sample.truth_text is not None else numbered(sample.triggers)
        return paper.release_messages(self.name, sample.split, text, truth)

    def read(self, reply: str, n_triggers: int) -> Verdict:
        if not self.release:
            return super().read(reply, n_triggers)
        return paper.release_reply(self.name, reply, n_triggers)

    def settles(self, reply: str) -> bool:
        """In the release's judging, a reply that passed the script's test was kept, read or
        not: it is not asked again."""
        return self.release and paper.release_accepts(self.name, reply)

    def sampling(self, base: GenerationParams) -> GenerationParams:
        return paper.RELEASE_SAMPLING[self.name] if self.release else base

    def asks(self, limit: int) -> int:
        bound = paper.RELEASE_ASKS.get(self.name) if self.release else None
        return limit if bound is None else min(limit, bound)


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


def released(protocol: JudgeProtocol) -> PaperProtocol:
    """`protocol` judging as the paper's release did (`--paper-sampling`); a one-line
    `EIBenchError` for a protocol the release did not have."""
    if not isinstance(protocol, PaperProtocol):
        raise EIBenchError(
            "--paper-sampling is the release's judging, for the "
            f"{' and '.join(paper.PAPER_PROTOCOLS)} protocols, not {protocol.name}"
        )
    return replace(protocol, release=True)


def llm_protocol(name: str) -> LLMProtocol | PerTriggerProtocol:
    """The registered protocol `name`, which must ask a judge model."""
    protocol = get_protocol(name)
    if not isinstance(protocol, (LLMProtocol, PerTriggerProtocol)):
        raise EIBenchError(f"the {name} protocol does not ask a judge model")
    return protocol
