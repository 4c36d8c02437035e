"""How a generation profile shows a sample to its model: its own prompt wording, the order of
image and text in the message, and the media type the image is labelled with.

A prompt template holds `{question}` (or `{question:lower}`, the question lower-cased, as some of
the release's scripts send it) and, in the caption setting, `{caption}`; `{{` and `}}` are
literal braces. Nothing else is accepted, so a typo in a profile is caught when it loads.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from eibench.models.base import ImagePart, Part, TextPart

ContentOrder = Literal["image-first", "text-first"]
"""`image-first`: [image, text] (eibench's default); `text-first`: [text, image]."""

ImageLabel = Literal["real", "image/jpeg"]
"""`real`: the image's own media type; `image/jpeg`: every image labelled JPEG, whatever it is."""

_TRANSFORMS: dict[str, Callable[[str], str]] = {"": str, "lower": str.lower}


class _Formatter(string.Formatter):
    """`str.format` whose format spec names a transform of the value (`{question:lower}`)."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        return _TRANSFORMS[format_spec](str(value))


def template_problem(template: str, *, caption: bool) -> str | None:
    """What is wrong with `template` as a prompt of a setting that does (`caption`) or does not
    hold the image's caption, or None."""
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as exc:
        return f"not a prompt template ({exc})"
    allowed = {"question", "caption"} if caption else {"question"}
    for name, spec, conversion in fields:
        if name not in allowed:
            return f"unknown placeholder {{{name}}} (use {', '.join(sorted(allowed))})"
        if conversion is not None or spec not in _TRANSFORMS:
            return f"unknown transform in {{{name}:{spec}}} (the one transform is :lower)"
    names = {name for name, _, _ in fields}
    missing = sorted(allowed - names)
    if missing:
        return f"the template has no {{{missing[0]}}}"
    return None


class Presentation(BaseModel):
    """One split and setting of a generation profile: the prompt, and how the message is
    laid out. `source` (the profile's NAME@VERSION) goes into the prompt version."""

    model_config = ConfigDict(frozen=True)

    source: str
    template: str
    content: ContentOrder = "image-first"
    image_label: ImageLabel = "real"

    def prompt(self, question: str, caption: str | None = None) -> str:
        """The prompt for `question` (and the image's `caption`, in the caption setting)."""
        return _Formatter().format(self.template, question=question, caption=caption or "")

    def version(self) -> str:
        """A short hash of everything here: the prompt version recorded with results."""
        blob = "\x00".join((self.source, self.template, self.content, self.image_label))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def parts(self, image: ImagePart | None, text: str) -> list[Part]:
        """The message content: the (relabelled) image and the text, in this profile's order."""
        if image is None:
            return [TextPart(text=text)]
        if self.image_label != "real":
            image = image.model_copy(update={"media_type": self.image_label})
        parts: list[Part] = [image, TextPart(text=text)]
        return parts if self.content == "image-first" else parts[::-1]
