"""The settings by name: what each one does with a sample. A setting kind names the prompt
templates it uses and writes the user prompt; `Setting` (in `build`) pairs one with a persona.

Adding a setting is a `SettingKind` (or a subclass of it) and one `register_setting` call; the
CLI's `--setting` choices and the experiment files' `settings:` are read from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from eibench.registry import Registry
from eibench.settings.prompts import cfsa_prompt_version, render, version


@dataclass(frozen=True)
class SettingKind:
    """A setting whose prompt is its own template, `prompts/<name>.txt` (user, cot)."""

    name: str
    needs_caption: ClassVar[bool] = False  # the prompt holds the image's caption

    def templates(self, text_only: bool) -> list[str]:
        """The templates its prompt is made of, before the persona's."""
        return [self.name]

    def prompt_version(self, templates: Sequence[str]) -> str:
        """The version recorded with results: a hash of `templates` (its own and the
        persona's)."""
        return version(*templates)

    def prompt(self, values: Mapping[str, str], caption: str | None, text_only: bool) -> str:
        """The user prompt; `values` holds `persona` and `question`."""
        return render(self.name, **values)


@dataclass(frozen=True)
class CaptionSetting(SettingKind):
    """The question with a caption of the image, written first by a captioner; with
    `text_only` the image itself is not sent."""

    needs_caption: ClassVar[bool] = True

    @staticmethod
    def _template(text_only: bool) -> str:
        return "caption_text_only" if text_only else "caption"

    def templates(self, text_only: bool) -> list[str]:
        return [self._template(text_only), "captioner"]

    def prompt(self, values: Mapping[str, str], caption: str | None, text_only: bool) -> str:
        if caption is None:
            raise ValueError("the caption setting needs the image's caption")
        return render(self._template(text_only), caption=caption, **values)


@dataclass(frozen=True)
class PipelineSetting(SettingKind):
    """CFSA: a pipeline of self-ask stages, not one prompt; its version is the pipeline's."""

    def prompt_version(self, templates: Sequence[str]) -> str:
        return cfsa_prompt_version()

    def prompt(self, values: Mapping[str, str], caption: str | None, text_only: bool) -> str:
        raise ValueError(f"{self.name} runs as a pipeline, not as one prompt")


SETTING_KINDS: Registry[SettingKind] = Registry("setting")


def register_setting(kind: SettingKind, *, replace: bool = False) -> SettingKind:
    """Make `kind` a setting chosen by its name."""
    return SETTING_KINDS.register(kind.name, kind, replace=replace)


def setting_kind(name: str) -> SettingKind:
    """The registered setting `name`; an unknown one is an `EIBenchError`."""
    return SETTING_KINDS.get(name)


register_setting(SettingKind("user"))
register_setting(SettingKind("cot"))
register_setting(CaptionSetting("caption"))
register_setting(PipelineSetting("cfsa"))

SETTINGS: tuple[str, ...] = SETTING_KINDS.names()
"""The built-in settings, in the paper's order."""

if TYPE_CHECKING:
    SettingName = str
else:
    SettingName = SETTING_KINDS.literal()
"""The settings registered when eibench is imported, as a type: what `--setting` and an
experiment file's `settings:` accept."""
