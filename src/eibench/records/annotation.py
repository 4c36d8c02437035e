"""Typed records of the CFSA pipeline: one per stage call, and one annotation per image and
question."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field

from eibench.records.chat import Usage

Role = Literal["vlm", "llm"]
AnnotationStatus = Literal["draft", "reviewed", "rejected", "failed"]
ANNOTATION_STATUSES: tuple[str, ...] = ("draft", "reviewed", "rejected", "failed")


class StageRecord(BaseModel):
    """One stage call: who answered what, with which prompt version, at what cost."""

    stage: str = Field(description="question, reconstruct, general, scenario_questions, ...")
    index: int = Field(0, description="position within the stage (the n-th general question)")
    role: Role
    model: str
    prompt_version: str
    input: str = Field(description="the prompt text sent (images omitted)")
    output: str | None = None
    usage: Usage = Usage()
    latency: float = 0.0
    attempts: int = 0
    cached: bool = False
    status: Literal["ok", "failed"] = "ok"
    error_kind: str | None = None
    error_message: str | None = None


class Annotation(BaseModel):
    """A CFSA annotation of one (image, emotion, question): a draft trigger list for review."""

    batch: str
    id: str
    image: str
    emotion: str
    question: str | None = Field(None, description="the user question (given or generated)")
    question_given: bool = False
    reconstruction: str | None = None
    triggers: list[str] = Field(default_factory=list)
    unsupported: list[int] = Field(
        default_factory=list, description="1-based triggers the VLM did not find in the image"
    )
    status: AnnotationStatus = "draft"
    error_kind: str | None = None
    error_message: str | None = None
    usage: Usage = Usage()
    vlm: str = ""
    llm: str = ""
    prompt_version: str = ""
    note: str = Field("", description="the reviewer's note")


def annotation_id(image: str, emotion: str, question: str | None) -> str:
    """Stable id of an (image, emotion, given question) to annotate."""
    blob = f"{image}\x00{emotion}\x00{question or ''}".encode()
    return hashlib.sha256(blob).hexdigest()[:16]
