"""The `entail` protocol: one strict yes/no question per ground-truth trigger ("does the answer
state this cause?"), read as P(yes).

P(yes) comes from the judge's log-probabilities of its first token where the server returns
them (the probability mass on "yes" over that on "yes" and "no", any case or spacing), else
from the reply's first word (yes 1, no 0). A trigger is covered when P(yes) reaches the
threshold (default 0.5, or one fitted to people's labels: `eibench.judges.configs`); the
verdict keeps every trigger's P(yes) as its score, so a threshold fitted later can re-read
stored decisions. A reply that is neither is a `JudgeParseError`, and the question
is asked again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from eibench.models.base import ChatResponse, GenerationParams, Message
from eibench.records.verdict import JudgeParseError, TriggerEvidence, Verdict
from eibench.settings.prompts import render, version

PROTOCOL = "entail"
TEMPLATE = "judge/entail"
DEFAULT_THRESHOLD = 0.5
TOP_LOGPROBS = 10  # alternatives asked for the first token
_WORD = re.compile(r"[a-z]+")


def build_messages(answer: str, trigger: str) -> list[Message]:
    return [Message.text("user", render(TEMPLATE, answer=answer, trigger=trigger.strip()))]


def params(base: GenerationParams) -> GenerationParams:
    """A few tokens (the word, perhaps a full stop) and the first token's alternatives."""
    return base.model_copy(update={"max_tokens": 3, "logprobs": TOP_LOGPROBS})


def prompt_version(threshold: float) -> str:
    return f"{version(TEMPLATE)}-t{threshold:g}"


def _word(text: str) -> str | None:
    match = _WORD.search(text.lower())
    return match.group(0) if match else None


def p_yes(response: ChatResponse) -> float:
    """The judge's probability that the answer states the trigger."""
    if response.top_logprobs:
        mass = {"yes": 0.0, "no": 0.0}
        for token, logprob in response.top_logprobs.items():
            word = _word(token)
            if word in mass and token.strip().lower() == word:
                mass[word] += math.exp(logprob)
        if mass["yes"] + mass["no"] > 0:
            return mass["yes"] / (mass["yes"] + mass["no"])
    word = _word(response.text)
    if word in ("yes", "no"):
        return 1.0 if word == "yes" else 0.0
    raise JudgeParseError('Reply with only "yes" or "no".')


def reask_message(error: JudgeParseError) -> Message:
    return Message.text("user", str(error))


def verdict(probabilities: Sequence[float], threshold: float) -> Verdict:
    triggers = tuple(
        TriggerEvidence(index=i, covered=p >= threshold, score=round(p, 6))
        for i, p in enumerate(probabilities, start=1)
    )
    return Verdict(correct=sum(t.covered for t in triggers), total=len(triggers), triggers=triggers)
