"""How a `Sample` becomes messages under each of the paper's settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from eibench.data.schema import Sample
from eibench.models.base import ImagePart, Message, Part, TextPart
from eibench.settings.kinds import SETTING_KINDS, SETTINGS, SettingKind, SettingName
from eibench.settings.presentation import Presentation
from eibench.settings.prompts import persona_prefix, render

__all__ = ["SETTINGS", "Setting", "SettingName", "caption_messages"]


class Setting(BaseModel):
    """A registered setting (user, cot, caption, cfsa; see `kinds`) and its persona; with a
    generation profile's `presentation`, the profile's prompt and message layout instead of
    eibench's templates."""

    model_config = ConfigDict(frozen=True)

    name: str = "user"
    persona: str = "emotion"
    text_only: bool = False
    presentation: Presentation | None = None

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
        if self.presentation is not None:
            return self.presentation.version()
        return self.kind.prompt_version(self.templates())

    def prompt(self, sample: Sample, caption: str | None = None) -> str:
        """The user prompt text for `sample`."""
        if self.presentation is not None:
            if self.needs_caption and caption is None:
                raise ValueError("the caption setting needs the image's caption")
            return self.presentation.prompt(sample.question, caption)
        values = {"persona": persona_prefix(self.persona), "question": sample.question}
        return self.kind.prompt(values, caption, self.text_only)

    def messages(
        self, sample: Sample, image: ImagePart | None, caption: str | None = None
    ) -> list[Message]:
        """One user message: the image (unless text-only or absent) and the prompt."""
        shown = image if self.sends_image else None
        text = self.prompt(sample, caption)
        if self.presentation is not None:
            return [Message(role="user", content=self.presentation.parts(shown, text))]
        parts: list[Part] = [] if shown is None else [shown]
        parts.append(TextPart(text=text))
        return [Message(role="user", content=parts)]


def caption_messages(image: ImagePart) -> list[Message]:
    """The captioner's request: the image and the caption prompt."""
    return [Message(role="user", content=[image, TextPart(text=render("captioner"))])]
