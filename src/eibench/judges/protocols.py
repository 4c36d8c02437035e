"""The judge protocols by name. An LLM protocol says how to ask a judge model about one answer,
how to read the reply, and how to ask again when the reply cannot be read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eibench.data.schema import Split
from eibench.errors import EIBenchError
from eibench.judges import paper, structured
from eibench.judges.verdict import JudgeParseError, Verdict
from eibench.models.base import GenerationParams, Message

SEMANTIC = "semantic"
TRIGGERS = "triggers"
PROTOCOLS = (SEMANTIC, *paper.PAPER_PROTOCOLS, TRIGGERS)


@dataclass(frozen=True)
class LLMProtocol:
    """A protocol that asks a judge model: `paper-llama3`, `paper-chatgpt` or `triggers`."""

    name: str

    @property
    def is_paper(self) -> bool:
        return self.name in paper.PAPER_PROTOCOLS

    def messages(self, split: Split, answer: str, triggers: Sequence[str]) -> list[Message]:
        if self.is_paper:
            return paper.build_messages(self.name, split, answer, triggers)
        return structured.build_messages(answer, triggers)

    def parse(self, text: str, n_triggers: int) -> Verdict:
        """The verdict in `text`; raises `JudgeParseError` when it cannot be read."""
        if self.is_paper:
            return paper.parse_reply(text, n_triggers)
        return structured.parse_reply(text, n_triggers)

    def reask(self, error: JudgeParseError) -> Message:
        if self.is_paper:
            return paper.reask_message(error)
        return structured.reask_message(error)

    def params(self, base: GenerationParams, paper_sampling: bool = False) -> GenerationParams:
        """The judge's sampling: `base` (deterministic by default), the release's sampling with
        `paper_sampling`, and the reply schema for `triggers`."""
        if paper_sampling:
            base = paper.PAPER_SAMPLING.model_copy(update={"seed": base.seed})
        if self.is_paper:
            return base
        return structured.params(base)

    def version(self, split: Split) -> str:
        if self.is_paper:
            return paper.prompt_version(self.name, split)
        return structured.prompt_version()


def check_protocol(name: str) -> str:
    if name not in PROTOCOLS:
        raise EIBenchError(f"unknown judge protocol {name!r} (one of {', '.join(PROTOCOLS)})")
    return name
