"""How a Sample becomes messages: the paper's settings (user, cot, caption) and personas."""

from eibench.settings.build import SETTINGS, Setting, caption_messages
from eibench.settings.kinds import SettingKind, register_setting, setting_kind
from eibench.settings.prompts import PERSONAS

__all__ = [
    "PERSONAS",
    "SETTINGS",
    "Setting",
    "SettingKind",
    "caption_messages",
    "register_setting",
    "setting_kind",
]
