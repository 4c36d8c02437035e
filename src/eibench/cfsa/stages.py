"""CFSA stages as pure functions: the messages each stage sends and the parsers for its replies.

The pipeline runner calls a model with a builder's messages and reads the reply with the
stage's parser. LLM stages are text only; VLM stages put the image first in the user message
and, when no image is given, say so in the prompt instead. Templates live in `prompts/cfsa/`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence

from eibench.data.triggers import trigger_key
from eibench.models.base import ImagePart, Message, TextPart
from eibench.models.clean import clean_text
from eibench.settings.prompts import CFSA_TEMPLATES, cfsa_prompt_version, render

GENERAL_QUESTIONS: tuple[str, ...] = (
    "How many people are in the image?",
    "What activities are the people in the image doing, and how are they interacting?",
    "What facial expressions do the people in the image show?",
    "What body language and posture do the people in the image show?",
)

TEMPLATES = CFSA_TEMPLATES  # the pipeline's templates, kept with the other prompt files
prompt_version = cfsa_prompt_version


# --- message builders -------------------------------------------------------------------------


def _system() -> Message:
    return Message.text("system", render("cfsa/system").strip())


def _llm(name: str, **values: str) -> list[Message]:
    """A text-only request: the system message and the rendered template."""
    return [_system(), Message.text("user", render(name, **values).strip())]


def _vlm(name: str, image: ImagePart | None, **values: str) -> list[Message]:
    """A request about an image: the image first, or a no-image note when there is none."""
    text = render(name, **values).strip()
    if image is None:
        text = f"{render('cfsa/no_image').strip()}\n\n{text}"
        return [_system(), Message.text("user", text)]
    return [_system(), Message(role="user", content=[image, TextPart(text=text)])]


def _qa_block(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return "(none)"
    return "\n\n".join(f"Q: {q}\nA: {a}" for q, a in pairs)


def _count(n: int) -> str:
    if n < 1:
        raise ValueError(f"the number of questions must be at least 1, not {n}")
    return str(n)


def enrich_question_messages(question: str, emotion: str) -> list[Message]:
    """Stage 1 (LLM): parse and enrich the user's `question` about a person feeling `emotion`
    (the sample's emotion word or category). The reply is the enriched question only."""
    return _llm("cfsa/enrich_question", question=question, emotion=emotion)


def generate_question_messages(emotion: str) -> list[Message]:
    """Stage 1 (LLM), when a sample has no question: write a user question, in the release's
    style, about a person who feels `emotion`. The reply is the question only."""
    return _llm("cfsa/generate_question", emotion=emotion)


def reconstruct_messages(question: str, emotion: str, image: ImagePart | None) -> list[Message]:
    """Stage 1 (VLM): rewrite `question` (the enriched one) as a detailed question grounded in
    `image`: who the person is, where, what is visible. `image` None sends text only."""
    return _vlm("cfsa/reconstruct", image, question=question, emotion=emotion)


def general_messages(
    general_question: str, question: str, image: ImagePart | None
) -> list[Message]:
    """Stage 2 (VLM): answer one of the general questions (`general_question`) about `image`,
    with attention to the person that `question` is about."""
    return _vlm("cfsa/general", image, general_question=general_question, question=question)


def scenario_questions_messages(
    question: str,
    reconstruction: str,
    general_qa: Sequence[tuple[str, str]],
    n: int,
    image: ImagePart | None,
    asked: Sequence[str] = (),
) -> list[Message]:
    """Stage 3 (VLM): write up to `n` new scenario-specific questions whose answers would help
    to explain the emotion.

    `reconstruction` is stage 1's detailed question, `general_qa` the (question, answer) pairs of
    stage 2, and `asked` the scenario questions of earlier rounds, which must not come again.
    The reply is a numbered list; read it with `parse_questions`.
    """
    asked_block = "\n".join(f"- {q}" for q in asked) if asked else "(none)"
    return _vlm(
        "cfsa/scenario_questions",
        image,
        question=question,
        reconstruction=reconstruction,
        general_qa=_qa_block(general_qa),
        asked=asked_block,
        n=_count(n),
    )


def scenario_answer_messages(
    scenario_question: str, question: str, reconstruction: str, image: ImagePart | None
) -> list[Message]:
    """Stage 3 (VLM): answer `scenario_question` about `image`; `question` and `reconstruction`
    (stage 1's detailed question) say why it is asked."""
    return _vlm(
        "cfsa/scenario_answer",
        image,
        scenario_question=scenario_question,
        question=question,
        reconstruction=reconstruction,
    )


def summary_messages(
    question: str,
    emotion: str,
    reconstruction: str,
    general_qa: Sequence[tuple[str, str]],
    scenario_qa: Sequence[tuple[str, str]],
) -> list[Message]:
    """Stage 4 (LLM): condense the question, its reconstruction and the (question, answer)
    pairs of stages 2 and 3 into a numbered list of the triggers of `emotion` for this person.
    Read the reply with `parse_summary`."""
    return _llm(
        "cfsa/summary",
        question=question,
        emotion=emotion,
        reconstruction=reconstruction,
        general_qa=_qa_block(general_qa),
        scenario_qa=_qa_block(scenario_qa),
    )


def verify_messages(trigger: str, question: str, image: ImagePart | None) -> list[Message]:
    """Stage 5 (VLM): does `image` support `trigger`, proposed as a cause of the emotion in
    `question`? The reply starts with yes, no or unsure; read it with `parse_verify`."""
    return _vlm("cfsa/verify", image, trigger=trigger, question=question)


def mine_messages(image: ImagePart | None, n: int) -> list[Message]:
    """Question mining (VLM): propose `n` open, general questions, reusable across images, whose
    answers would help to explain the emotions of the people in `image`. Read the reply with
    `parse_questions`; the most frequent questions over many images become stage 2's."""
    return _vlm("cfsa/mine", image, n=_count(n))


# --- reply parsers ----------------------------------------------------------------------------

# A list item's marker: "1.", "2)", "(3)", "4:", "#5", "Q6:", "Question 7.", or a bullet,
# optionally in bold ("**1.**"), at the start of a line.
_ITEM = re.compile(
    r"^\s*(?:\*\*|__)?"
    r"(?:\(?\d{1,3}\s*[.):]|#\d{1,3}[.):]?|(?:q|question|trigger)\s*\d{1,3}\s*[.):]?"
    r"|[-*+\u2022\u2013\u2014])"
    r"(?:\*\*|__)?(?=\s|$)\s*",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*```")
_HEADING = re.compile(r"^\s*#{1,6}(?:\s|$)")
_NOTE = re.compile(r"^\s*[*_(\[]*\s*(?:notes?|n\.?b\.?|disclaimer)\b\s*[*_]*\s*[:\-\u2013]", re.I)
_PREAMBLE = re.compile(
    r"^\s*(?:sure|certainly|of course|okay|ok|here (?:is|are)|below (?:is|are))\b", re.I
)
_LABEL = re.compile(
    r"^(?:(?:[a-z-]+,?\s+){0,3}(?:question|query)|q|answer|a)\s*[:\-\u2013]\s+", re.IGNORECASE
)
_EMPHASIS = re.compile(r"\*\*|__|`")
_QUOTES = "\"'\u201c\u201d\u2018\u2019*_ \t"
# The end of a sentence before the next one starts: ". What", ": \"Why", "! How".
_BOUNDARY = re.compile(r"[.!:;][\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(]*[A-Z])")
_INTERROGATIVE = re.compile(
    r"^(?:what|why|how|which|who|whom|whose|where|when|is|are|was|were|do|does|did|can|could"
    r"|would|should|will|has|have|had|might|may|in what|to what)\b",
    re.IGNORECASE,
)


def _plain(line: str) -> str:
    """A line without markdown emphasis, code ticks or surrounding blockquote marks."""
    return _EMPHASIS.sub("", line).lstrip("> \t").strip()


def _is_aside(line: str) -> bool:
    """A heading, a note or a preamble line: not part of a list item or a question."""
    plain = _plain(line)
    return bool(
        _HEADING.match(line)
        or _NOTE.match(line)
        or (_PREAMBLE.match(plain) and "?" not in plain)
        or (plain.endswith(":") and not _ITEM.match(line))
    )


def _lines(text: str) -> list[str]:
    """The reply's lines, cleaned of special tokens and reasoning, without code fences."""
    return [line for line in clean_text(text).splitlines() if not _FENCE.match(line)]


def _list_items(text: str) -> list[str]:
    """The items of a numbered or bulleted list.

    An unmarked line continues the item before it; a blank line, heading or note ends the item,
    and unmarked text after it (a trailing note) is dropped. Without any marker, the items are
    the reply's lines, less headings, notes and preambles. Items ending with ":" are headings
    of sub-lists and are dropped.
    """
    items: list[str] = []
    loose: list[str] = []
    in_list = gap = False
    for line in _lines(text):
        marker = _ITEM.match(line)
        if marker:
            items.append(line[marker.end() :])
            in_list, gap = True, False
        elif not line.strip() or _is_aside(line):
            gap = in_list
        elif in_list and not gap:
            items[-1] = f"{items[-1]} {line.strip()}"
        elif not in_list:
            loose.append(line)
    found = items if in_list else loose
    cleaned = [_plain(item).strip("*_ \t") for item in found]
    return [item for item in cleaned if item and not item.endswith(":")]


_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}
_OPENERS = {close: open_ for open_, close in _PAIRS.items()}


# Whether a quote mark closes (opens) a quotation: an apostrophe inside a word does neither.
def _closes(text: str, close: str) -> bool:
    return re.search(rf"{re.escape(close)}(?![^\W\d_])", text) is not None


def _opens(text: str, open_: str) -> bool:
    return re.search(rf"(?<![^\W\d_]){re.escape(open_)}", text) is not None


def _unquote(text: str) -> str:
    """`text` without quotes around it or dangling at either end; quotations inside it (a sign
    that says 'Open') and apostrophes are kept."""
    text = text.strip("*_ \t")
    if text[:1] in _PAIRS:
        close, rest = _PAIRS[text[0]], text[1:]
        if rest.endswith(close) and not _closes(rest[:-1], close):
            text = rest[:-1]
        elif not _closes(rest, close):
            text = rest
    if text[-1:] in _OPENERS and not _opens(text[:-1], _OPENERS[text[-1]]):
        text = text[:-1]
    return text.strip("*_ \t")


def _finish(sentence: str) -> str | None:
    """`sentence` as a question ending with "?", or None when it has no word in it."""
    body = _unquote(_unquote(sentence).rstrip(".!:;,?\u2026 "))
    body = body.rstrip(".!:;,?\u2026 ")
    if not any(ch.isalnum() for ch in body):
        return None
    return f"{body}?"


def _question_segments(text: str) -> list[str]:
    """The reply's text, cleaned line by line, joined into runs of wrapped lines."""
    segments: list[str] = []
    joinable = False
    for line in _lines(text):
        marker = _ITEM.match(line)
        body = line[marker.end() :] if marker else line
        plain = _LABEL.sub("", _plain(body).strip("*_ \t")).strip("*_ \t")
        if not plain or _is_aside(body):
            joinable = False
            continue
        if joinable and not marker:
            segments[-1] = f"{segments[-1]} {plain}"
        else:
            segments.append(plain)
        joinable = not plain.endswith((".", "!", "?"))
    return segments


def _asked_sentence(segment: str) -> str | None:
    """The first sentence of `segment` that ends with "?", without what comes before it."""
    for piece in re.findall(r"[^?]*\?", segment):
        starts = [m.end() for m in _BOUNDARY.finditer(piece)]
        question = _finish(piece[starts[-1] :] if starts else piece)
        if question is not None:
            return question
    return None


def parse_question(text: str) -> str:
    """One question from a reply (stage 1, or an item of a list).

    Special tokens, reasoning, markdown, list markers, labels ("Question:") and quotes are
    removed; the first sentence that ends with "?" is kept, else the first sentence that starts
    with a question word ("What", "Why", "Could", ...); the result ends with "?". Raises
    ValueError when the reply is empty or holds no question (a refusal, a statement).
    """
    segments = _question_segments(text)
    for segment in segments:
        asked = _asked_sentence(segment)
        if asked is not None:
            return asked
    for segment in segments:
        first = _BOUNDARY.split(segment, maxsplit=1)[0]
        if _INTERROGATIVE.match(first) and (question := _finish(first)) is not None:
            return question
    raise ValueError("the reply holds no question")


def _is_question(text: str) -> bool:
    return "?" in text or bool(_INTERROGATIVE.match(text.strip(_QUOTES)))


def _distinct(texts: Iterable[str]) -> list[str]:
    """`texts` in order, without repeats (ignoring case, spacing and final punctuation)."""
    first: dict[str, str] = {}
    for text in texts:
        first.setdefault(trigger_key(text, trailing=".?!;, "), text)
    return [text for key, text in first.items() if key]


def parse_questions(text: str, n: int) -> list[str]:
    """Up to `n` distinct questions from a numbered or bulleted list (stage 3, mining).

    Each item is cleaned as by `parse_question`; items that are not questions (no "?" and no
    question word at the start), preambles and trailing notes are skipped, and a repeated
    question (ignoring case and spacing) is kept once. An empty list when there is none.
    """
    questions: list[str] = []
    for item in _list_items(text):
        if _is_question(item):
            with contextlib.suppress(ValueError):
                questions.append(parse_question(item))
    return _distinct(questions)[: max(n, 0)]


def parse_summary(text: str) -> list[str]:
    """The triggers of a summary reply (stage 4), in order.

    Splits the numbered list as `data.triggers.parse_triggers` does (the two agree on every
    release list), and also tolerates preambles, bullets, bold text, headings of sub-lists and
    trailing notes. Items are kept verbatim but for markdown; empty items and repeats (ignoring
    case, spacing and final punctuation) are dropped. Raises ValueError when no trigger is left.
    """
    triggers = _distinct(_list_items(text))
    if not triggers:
        raise ValueError("the summary holds no trigger")
    return triggers


_VERDICT = re.compile(
    r"^(?:(?:answer|verdict|supported)\s*[:\-]\s*)?"
    r"(yes|no|unsure|not sure|uncertain|unclear|supported|not supported|unsupported)\b",
    re.IGNORECASE,
)
_VERDICTS = {
    "yes": True,
    "supported": True,
    "no": False,
    "not supported": False,
    "unsupported": False,
}


def parse_verify(text: str) -> bool | None:
    """A verification reply (stage 5): True when it starts with yes (the image supports the
    trigger), False with no, None when unsure or unreadable."""
    lines = [line for line in _lines(text) if line.strip()]
    first = _plain(lines[0]).lstrip("\"'\u201c\u2018*_([#-. \t") if lines else ""
    match = _VERDICT.match(first)
    return _VERDICTS.get(match.group(1).lower()) if match else None
