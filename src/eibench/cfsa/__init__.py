"""CFSA (Coarse-to-Fine Self-Ask): the paper's annotation pipeline for emotional triggers.

Stages, for one image, person and emotion: (1) coarse question preprocessing, an LLM enriching
the user's question and a VLM reconstructing it with details from the image; (2) general
self-ask, the VLM answering the four general questions; (3) fine, scenario self-ask, the VLM
writing and answering questions about this scene; (4) an LLM summarising everything into a
numbered trigger list; (5) the VLM checking each trigger against the image, before people
review the draft. `stages` holds the pure part: message builders and reply parsers.
"""

from eibench.cfsa.stages import (
    GENERAL_QUESTIONS,
    TEMPLATES,
    enrich_question_messages,
    general_messages,
    generate_question_messages,
    mine_messages,
    parse_question,
    parse_questions,
    parse_summary,
    parse_verify,
    prompt_version,
    reconstruct_messages,
    scenario_answer_messages,
    scenario_questions_messages,
    summary_messages,
    verify_messages,
)

__all__ = [
    "GENERAL_QUESTIONS",
    "TEMPLATES",
    "enrich_question_messages",
    "general_messages",
    "generate_question_messages",
    "mine_messages",
    "parse_question",
    "parse_questions",
    "parse_summary",
    "parse_verify",
    "prompt_version",
    "reconstruct_messages",
    "scenario_answer_messages",
    "scenario_questions_messages",
    "summary_messages",
    "verify_messages",
]
