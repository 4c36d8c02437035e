"""What a generation profile file holds, validated: the decoding settings, prompts and message
layout one of the release's answer scripts used for its model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eibench.data.schema import Split
from eibench.errors import EIBenchError
from eibench.models.base import GenerationParams
from eibench.settings.kinds import SETTING_KINDS, PipelineSetting
from eibench.settings.presentation import ContentOrder, ImageLabel, Presentation, template_problem
from eibench.slugs import Name


class ProfileParams(BaseModel):
    """The decoding settings a script set. A key that is absent is not sent: the server's or
    the model's own default applies, as it did for the script."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(None, ge=0, allow_inf_nan=False)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1, description="new tokens at most")
    do_sample: bool | None = None
    repetition_penalty: float | None = Field(None, gt=0, allow_inf_nan=False)
    num_beams: int | None = Field(None, ge=1)
    no_repeat_ngram_size: int | None = Field(None, ge=1)


class Profile(BaseModel):
    """One model's generation profile. `prompts` maps a split to its settings' templates (see
    `eibench.settings.presentation`); `image_label` is one label, or one per split."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    version: int = Field(ge=1, description="raised whenever anything that shapes requests changes")
    description: str = Field(description="the release's rows this profile reproduces")
    sources: list[str] = Field(min_length=1, description="the release scripts it was read from")
    content: ContentOrder = "image-first"
    image_label: ImageLabel | dict[Split, ImageLabel] = "real"
    params: ProfileParams = ProfileParams()
    prompts: dict[Split, dict[str, str]] = Field(min_length=1)

    @model_validator(mode="after")
    def _templates(self) -> Profile:
        for split, templates in self.prompts.items():
            if not templates:
                raise ValueError(f"prompts.{split}: no setting has a prompt")
            for setting, template in templates.items():
                where = f"prompts.{split}.{setting}"
                if setting not in SETTING_KINDS:
                    known = ", ".join(SETTING_KINDS.names())
                    raise ValueError(f"{where}: unknown setting (one of {known})")
                kind = SETTING_KINDS.get(setting)
                if isinstance(kind, PipelineSetting):
                    raise ValueError(f"{where}: {setting} runs as a pipeline, not as one prompt")
                problem = template_problem(template, caption=kind.needs_caption)
                if problem is not None:
                    raise ValueError(f"{where}: {problem}")
        return self

    @property
    def label(self) -> str:
        """`NAME@VERSION`, as runs record it."""
        return f"{self.name}@{self.version}"

    def settings(self, split: Split) -> tuple[str, ...]:
        """The settings this profile has a prompt for on `split`."""
        return tuple(self.prompts.get(split, {}))

    def presentation(self, split: Split, setting: str) -> Presentation:
        """The prompt and layout for `setting` on `split`; a setting the profile has no prompt
        for is a one-line `EIBenchError` naming the ones it has."""
        template = self.prompts.get(split, {}).get(setting)
        if template is None:
            has = ", ".join(self.settings(split)) or "none"
            raise EIBenchError(
                f"generation profile {self.label} has no {setting} prompt for the {split} split "
                f"(the release shows none); it has: {has}"
            )
        label = self.image_label
        return Presentation(
            source=self.label,
            template=template,
            content=self.content,
            image_label=label if isinstance(label, str) else label.get(split, "real"),
        )

    def generation_params(self, seed: int | None = None) -> GenerationParams:
        """The profile's decoding settings, tagged with its label; unset ones are not sent."""
        return GenerationParams(**self.params.model_dump(), seed=seed, profile=self.label)
