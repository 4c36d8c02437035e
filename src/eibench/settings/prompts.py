"""Prompt templates: versioned files under `eibench/prompts/`."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from eibench.registry import literal_of

PERSONAS = ("emotion", "assistant", "architecture", "none")
"""The personas: each is a sentence in `prompts/persona/<name>.txt` put before the prompt."""

if TYPE_CHECKING:
    PersonaName = str
else:
    PersonaName = literal_of(PERSONAS)
"""The personas as a type: what `--persona` accepts."""


@cache
def template(name: str) -> str:
    """The text of `prompts/<name>.txt`."""
    return resources.files("eibench").joinpath(f"prompts/{name}.txt").read_text(encoding="utf-8")


def version(*names: str) -> str:
    """A short hash of the named templates' text: the prompt version recorded with results."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\x00{template(name)}\x00".encode())
    return digest.hexdigest()[:12]


def persona_prefix(persona: str) -> str:
    """The persona sentence followed by a space, or nothing for `none`."""
    text = template(f"persona/{persona}").strip()
    return f"{text} " if text else ""


def render(name: str, **values: str) -> str:
    return template(name).format(**values)


# The CFSA pipeline's templates (its stages live in `eibench.cfsa.stages`).
CFSA_TEMPLATES: tuple[str, ...] = (
    "cfsa/system",
    "cfsa/no_image",
    "cfsa/enrich_question",
    "cfsa/generate_question",
    "cfsa/reconstruct",
    "cfsa/general",
    "cfsa/scenario_questions",
    "cfsa/scenario_answer",
    "cfsa/summary",
    "cfsa/verify",
    "cfsa/mine",
)


def cfsa_prompt_version() -> str:
    """A short hash of every CFSA template: the prompt version recorded with annotations."""
    return version(*CFSA_TEMPLATES)
