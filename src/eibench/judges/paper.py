"""The paper's judge protocols, `paper-llama3` and `paper-chatgpt`: the released prompts,
verbatim, and a tolerant reader of their `{score: correct/total}` output.

The prompts keep the release's grammar ("aimed at comprehend an emotion"). The LLaMA-3 judge
had a separate complex-split prompt ("comprehending"); the ChatGPT judge used one prompt for
both splits. Each prompt is followed by the same suffix with the answer and the numbered
ground truth.

The release's judging (`--paper-sampling`) is kept here too: each script's sampling, the
ground truth and the answer pasted as the release files hold them, and the test each script
applied to a reply before asking again (EI_Basic/gpt-eval.py, llama3-eval.py and their
EI_Complex twins at commit aff98d0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from eibench.data.schema import Split
from eibench.data.triggers import numbered
from eibench.models.base import GenerationParams, Message
from eibench.models.clean import clean_text
from eibench.records.verdict import JudgeParseError, Verdict
from eibench.settings.prompts import render, template, version

PAPER_PROTOCOLS = ("paper-llama3", "paper-chatgpt")

# The judges' sampling in the release. llama3-eval.py: `do_sample=True, temperature=0.1,
# top_p=0.9, max_new_tokens=512`; gpt-eval.py: `temperature=0.1, max_tokens=512`, no top_p (the
# API's default, 1). Neither set a seed, so each ask is a fresh sample.
PAPER_SAMPLING = GenerationParams(temperature=0.1, top_p=0.9, max_tokens=512)
RELEASE_SAMPLING = {
    "paper-llama3": PAPER_SAMPLING,
    "paper-chatgpt": GenerationParams(temperature=0.1, max_tokens=512),
}

# llama3-eval.py asks at most 5 times (`if i == 4`), then writes "{score: 0/1}"; gpt-eval.py
# asks until a reply holds "{score", without limit.
RELEASE_ASKS = {"paper-llama3": 5}

RELEASE_VERSION_SUFFIX = "-release"


def task_template(protocol: str, split: Split) -> str:
    """The template name of the protocol's task text for `split`."""
    if protocol == "paper-chatgpt":
        return "judge/paper_chatgpt"
    if protocol == "paper-llama3":
        return f"judge/paper_llama3_{split}"
    raise ValueError(f"not a paper protocol: {protocol}")


def prompt_version(protocol: str, split: Split, *, release: bool = False) -> str:
    """The prompt version recorded with verdicts; the release's judging (which pastes the raw
    ground truth and never sends the re-ask turn) ends in `-release`."""
    if release:
        names = ("judge/paper_system", task_template(protocol, split), "judge/paper_suffix")
        return version(*names) + RELEASE_VERSION_SUFFIX
    return version(
        "judge/paper_system",
        task_template(protocol, split),
        "judge/paper_suffix",
        "judge/paper_reask",
    )


def user_prompt(protocol: str, split: Split, answer: str, triggers: Sequence[str]) -> str:
    """The task text and the suffix with the record and the numbered ground truth."""
    return template(task_template(protocol, split)) + render(
        "judge/paper_suffix", answer=answer, triggers=numbered(triggers)
    )


def build_messages(
    protocol: str, split: Split, answer: str, triggers: Sequence[str]
) -> list[Message]:
    return [
        Message.text("system", template("judge/paper_system")),
        Message.text("user", user_prompt(protocol, split, answer, triggers)),
    ]


def release_messages(protocol: str, split: Split, answer: str, truth: str) -> list[Message]:
    """The request as the release's scripts built it: `answer` as the answers file holds it
    (special tokens kept) and `truth`, the release file's ground-truth string, pasted as they
    are (gpt-eval.py line 52: `{data_input}` and `{gt[img_path]}`)."""
    prompt = template(task_template(protocol, split))
    prompt += render("judge/paper_suffix", answer=answer, triggers=truth)
    return [
        Message.text("system", template("judge/paper_system")),
        Message.text("user", prompt),
    ]


def release_accepts(protocol: str, reply: str) -> bool:
    """Whether the release's script took `reply` rather than asking again: gpt-eval.py needs
    "{score" in it (line 30), llama3-eval.py "{score: " in any case (line 63)."""
    if protocol == "paper-chatgpt":
        return "{score" in reply
    return "{score: " in reply.lower()


def release_reply(protocol: str, reply: str, n_triggers: int) -> Verdict:
    """The verdict of a raw reply in the release's judging: a reply the release's script would
    have asked again about is unreadable, even when `parse_reply` could read it."""
    if not release_accepts(protocol, reply):
        mark = "{score" if protocol == "paper-chatgpt" else "{score: "
        raise JudgeParseError(f"no {mark!r} in the reply (the release's test of a reply).")
    return parse_reply(clean_text(reply), n_triggers)


def reask_message(error: JudgeParseError) -> Message:
    """The follow-up turn after an unreadable assessment (deterministic judges only: a sampling
    judge is simply asked again, as the release did)."""
    return Message.text("user", template("judge/paper_reask").replace("{reason}", str(error)))


# `{score: 3/5}` and its real-world variants: any case, spaces, markdown emphasis or code
# marks around the word or the numbers, `=` for `:`, `out of` for `/`.
_MARK = r"[\s*_`]*"
_NUMBERS = rf"{_MARK}(\d+){_MARK}(?:/|\bout\s+of\b){_MARK}(\d+)"
_BRACED = re.compile(rf"\{{{_MARK}score{_MARK}[:=]{_NUMBERS}{_MARK}\}}", re.IGNORECASE)
_BARE = re.compile(rf"\bscore{_MARK}[:=]{_NUMBERS}", re.IGNORECASE)


def parse_score(text: str) -> tuple[int, int]:
    """(correct, total) from a paper-judge reply. The last `{score: c/t}` wins; without braces,
    the last `score: c/t`. Raises `JudgeParseError` when there is none or the total is 0."""
    found = _BRACED.findall(text) or _BARE.findall(text)
    if not found:
        raise JudgeParseError("no {score: correct/total} found.")
    correct, total = (int(x) for x in found[-1])
    if total == 0:
        raise JudgeParseError(f"the total in {{score: {correct}/{total}}} is 0.")
    return correct, total


def parse_reply(text: str, n_triggers: int) -> Verdict:
    """The verdict of a paper-judge reply against `n_triggers` ground-truth triggers. The
    judge's total is kept as `judge_total`; recall uses the ground-truth count."""
    correct, judge_total = parse_score(text)
    return Verdict(correct=correct, total=n_triggers, judge_total=judge_total)
