"""How a `Sample` becomes messages under each of the paper's settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from eibench.data.schema import Sample
from eibench.models.base import ImagePart, Message, TextPart
from eibench.settings.prompts import persona_prefix, render, version

SettingName = Literal["user", "cot", "caption", "cfsa"]
SETTINGS: tuple[SettingName, ...] = ("user", "cot", "caption", "cfsa")


class Setting(BaseModel):
    """A setting (user, cot, caption; cfsa is a pipeline of its own) and its persona."""

    model_config = ConfigDict(frozen=True)

    name: SettingName = "user"
    persona: str = "emotion"
    text_only: bool = False

    @property
    def needs_caption(self) -> bool:
        return self.name == "caption"

    @property
    def sends_image(self) -> bool:
        return not self.text_only

    def templates(self) -> list[str]:
        if self.name == "caption":
            names = ["caption_text_only" if self.text_only else "caption", "captioner"]
        else:
            names = [self.name]
        return [*names, f"persona/{self.persona}"]

    def prompt_version(self) -> str:
        if self.name == "cfsa":
            from eibench.cfsa.stages import prompt_version

            return prompt_version()
        return version(*self.templates())

    def prompt(self, sample: Sample, caption: str | None = None) -> str:
        """The user prompt text for `sample`."""
        values = {"persona": persona_prefix(self.persona), "question": sample.question}
        if self.name == "caption":
            if caption is None:
                raise ValueError("the caption setting needs the image's caption")
            template = "caption_text_only" if self.text_only else "caption"
            return render(template, caption=caption, **values)
        if self.name == "cfsa":
            raise ValueError("cfsa runs as a pipeline, not as one prompt")
        return render(self.name, **values)

    def messages(
        self, sample: Sample, image: ImagePart | None, caption: str | None = None
    ) -> list[Message]:
        """One user message: the image (unless text-only or absent) and the prompt."""
        parts: list[ImagePart | TextPart] = []
        if image is not None and self.sends_image:
            parts.append(image)
        parts.append(TextPart(text=self.prompt(sample, caption)))
        return [Message(role="user", content=parts)]


def caption_messages(image: ImagePart) -> list[Message]:
    """The captioner's request: the image and the caption prompt."""
    return [Message(role="user", content=[image, TextPart(text=render("captioner"))])]
