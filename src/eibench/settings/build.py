"""How a `Sample` becomes messages under each of the paper's settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from eibench.data.schema import Sample
from eibench.models.base import ImagePart, Message, TextPart
from eibench.settings.kinds import SETTING_KINDS, SETTINGS, SettingKind, SettingName
from eibench.settings.prompts import persona_prefix, render

__all__ = ["SETTINGS", "Setting", "SettingName", "caption_messages"]


class Setting(BaseModel):
    """A registered setting (user, cot, caption, cfsa; see `kinds`) and its persona."""

    model_config = ConfigDict(frozen=True)

    name: str = "user"
    persona: str = "emotion"
    text_only: bool = False

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        return SETTING_KINDS.check(name)

    @property
    def kind(self) -> SettingKind:
        return SETTING_KINDS.get(self.name)

    @property
    def needs_caption(self) -> bool:
        return self.kind.needs_caption

    @property
    def sends_image(self) -> bool:
        return not self.text_only

    def templates(self) -> list[str]:
        return [*self.kind.templates(self.text_only), f"persona/{self.persona}"]

    def prompt_version(self) -> str:
        return self.kind.prompt_version(self.templates())

    def prompt(self, sample: Sample, caption: str | None = None) -> str:
        """The user prompt text for `sample`."""
        values = {"persona": persona_prefix(self.persona), "question": sample.question}
        return self.kind.prompt(values, caption, self.text_only)

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
