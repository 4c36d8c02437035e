"""`prior`: an offline, deterministic, image-blind baseline.

For each sample it answers with the triggers most common among the *other* samples of the same
emotion (leave-one-out, so never its own ground truth). It shows how much a judge rewards a
generic answer that never looked at the image.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from eibench.data.schema import Sample
from eibench.data.triggers import trigger_key
from eibench.models.base import ChatRequest, ChatResponse, ModelCallError, Usage
from eibench.models.options import ModelOptions

TOP_K = 5


class PriorModel:
    spec = "prior"

    def __init__(self, samples: Sequence[Sample], top_k: int = TOP_K) -> None:
        self.top_k = top_k
        self._samples = {s.id: s for s in samples}
        counts: dict[tuple[str, str], Counter[str]] = {}
        self._wording: dict[str, str] = {}
        for sample in samples:
            group = counts.setdefault((sample.split, sample.emotion), Counter())
            for trigger in sample.triggers:
                self._wording.setdefault(trigger_key(trigger), trigger.strip().rstrip("."))
            group.update({trigger_key(t) for t in sample.triggers})
        # Each group's triggers, most common first (ties by name), for leave-one-out look-ups.
        self._ranked = {
            group: sorted(c.items(), key=lambda item: (-item[1], item[0]))
            for group, c in counts.items()
        }

    @classmethod
    def load(cls, name: str, options: ModelOptions, samples: Sequence[Sample]) -> PriorModel:
        """The registry's way in: `prior` answers from the split it is given."""
        return cls(samples)

    def triggers_for(self, sample: Sample) -> list[str]:
        """The most common triggers of the sample's emotion, its own ground truth left out."""
        own = {trigger_key(t) for t in sample.triggers}
        ranked = self._ranked.get((sample.split, sample.emotion), [])
        # Leaving the sample out lowers only its own triggers, by one, so the answer lies among
        # the first top_k + len(own) of the group's ranking.
        candidates = [
            (name, count - (name in own)) for name, count in ranked[: self.top_k + len(own)]
        ]
        candidates.sort(key=lambda item: (-item[1], item[0]))
        return [self._wording[name] for name, count in candidates if count > 0][: self.top_k]

    async def chat(self, request: ChatRequest) -> ChatResponse:
        sample = self._samples.get(request.context.get("sample_id", ""))
        if sample is None:
            raise ModelCallError("bad_request", "prior answers only benchmark samples it was given")
        triggers = self.triggers_for(sample)
        text = "\n".join(f"{i}. {t}." for i, t in enumerate(triggers, 1))
        return ChatResponse(text=text, usage=Usage(), finish_reason="stop", model="prior")

    async def aclose(self) -> None:
        return None
