"""How a Sample becomes messages: the paper's settings (user, cot, caption) and personas."""

from eibench.settings.build import SETTINGS, Setting, caption_messages
from eibench.settings.media import image_part
from eibench.settings.prompts import PERSONAS

__all__ = ["PERSONAS", "SETTINGS", "Setting", "caption_messages", "image_part"]
