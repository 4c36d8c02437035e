"""Clean model text: strip special tokens and reasoning blocks, keep the answer verbatim."""

from __future__ import annotations

import re

# Chat-template control tokens of common model families: <|im_end|>, <|eot_id|>, </s>, ...
_SPECIAL = re.compile(
    r"<\|[A-Za-z0-9_:.\-]{1,40}\|>"
    r"|</?s>|<pad>|<unk>|<eos>|<bos>|<end_of_turn>|<start_of_turn>(?:model|user)?"
    r"|\[/?INST\]|<image>|<\|image_pad\|>"
)
_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"^\s*<(think|thinking|reasoning)>", re.IGNORECASE)
_CLOSE_THINK = re.compile(r"</(think|thinking|reasoning)>", re.IGNORECASE)


def clean_text(raw: str) -> str:
    """The answer without control tokens or reasoning.

    A closed `<think>...</think>` block is removed. Some servers drop the opening tag, so text
    up to a lone closing tag is reasoning too. An unclosed opening tag (reasoning cut off by the
    token limit) leaves no answer at all.
    """
    text = _SPECIAL.sub("", raw)
    text = _THINK.sub("", text)
    lone_close = _CLOSE_THINK.search(text)
    if lone_close:
        text = text[lone_close.end() :]
    elif _OPEN_THINK.match(text):
        text = ""
    return text.strip()
