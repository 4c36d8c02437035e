"""Typed records kept in the run store."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from eibench.records.chat import GenerationParams, Usage
from eibench.records.verdict import Verdict

Status = Literal["ok", "failed"]


def answer_digest(text: str | None) -> str:
    """sha256 of an answer's clean text: a verdict is on this exact answer."""
    return hashlib.sha256((text or "").encode()).hexdigest()


LABELLED = "labelled"
"""The model and setting of a run that holds a labelled set's answers (`eibench judge --labels`):
reports leave such runs out unless they are named."""


class RunConfig(BaseModel):
    """Everything that shapes a run's answers. A run name is bound to one config: re-running
    the same command resumes it, and a different config under the same name is refused."""

    model_config = ConfigDict(frozen=True)

    model: str = Field(description="model spec, e.g. openai:gpt-4o (no secrets)")
    split: Literal["basic", "complex"]
    setting: str
    persona: str
    text_only: bool = False
    captioner: str | None = None
    params: GenerationParams = GenerationParams()
    max_image_side: int | None = None
    prompt_version: str = Field(description="hash of the prompt templates used")
    dataset: str = Field(description="fingerprint of the split's samples")
    package_version: str = ""
    extra: dict[str, Any] = Field(default_factory=dict, description="setting-specific options")

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a rerun to resume this run (not the package version)."""
        return self.model_dump(mode="json", exclude={"package_version"})


class Generation(BaseModel):
    """One model answer (or its typed failure) for one sample of a run."""

    run: str
    sample_id: str
    image: str
    status: Status
    raw: str | None = None
    clean: str | None = None
    prompt: str = Field("", description="the prompt text sent (images omitted)")
    usage: Usage = Usage()
    latency: float = 0.0
    attempts: int = 0
    cached: bool = False
    error_kind: str | None = None
    error_message: str | None = None
    created_at: str = ""


def is_current(generation: Generation | None, digest: str) -> bool:
    """Whether `digest` is that of the run's stored, successful answer: a verdict or metric on
    an earlier answer (since regenerated) no longer counts."""
    return (
        generation is not None
        and generation.status == "ok"
        and digest == answer_digest(generation.clean)
    )


class RunInfo(BaseModel):
    name: str
    config: RunConfig
    created_at: str
    counts: dict[str, int] = Field(default_factory=dict, description="generations per status")
    usage: Usage = Usage()


JudgmentStatus = Literal["ok", "judge_unparsed", "failed"]


class JudgingConfig(BaseModel):
    """Everything that shapes one judge's verdicts on a run. Judgments of a (run, judge,
    protocol) are bound to one config: judging again resumes, a different config is refused."""

    model_config = ConfigDict(frozen=True)

    judge: str = Field(description="judge model spec, or the semantic judge's encoder")
    protocol: str
    prompt_version: str = ""
    params: GenerationParams | None = None
    settings: dict[str, Any] = Field(default_factory=dict, description="protocol knobs")
    package_version: str = ""

    def identity(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"package_version"})

    @property
    def version(self) -> str:
        """Which version of the judge made the verdicts: the offline judge's model (or method)
        or the prompt's version, with the named judge configuration (`NAME@VERSION`) that set
        its threshold, and a cascade's model judge, band and threshold."""
        named = [v for k in ("model", "judge_config") if isinstance(v := self.settings.get(k), str)]
        method = self.settings.get("method")
        base = ", ".join(named) or (method if isinstance(method, str) else self.prompt_version)
        cascade = self.settings.get("cascade")
        if isinstance(cascade, dict):
            low, high = cascade["band"]
            return f"{base} + {cascade['model']} on [{low:g}, {high:g}) at {cascade['threshold']:g}"
        return base


class Judgment(BaseModel):
    """One judge's verdict (or its typed failure) on one answer of a run."""

    run: str
    sample_id: str
    judge: str
    protocol: str
    status: JudgmentStatus
    answer_digest: str = Field(description="sha256 of the judged answer: a new answer is rejudged")
    verdict: Verdict | None = None
    raw: str | None = Field(None, description="the judge's last reply")
    attempts: int = 0
    usage: Usage = Usage()
    latency: float = 0.0
    cached: bool = False
    error_kind: str | None = None
    error_message: str | None = None
    created_at: str = ""
