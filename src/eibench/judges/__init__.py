"""Judges: turn a stored answer and its ground-truth triggers into a verdict.

A judge is configuration (a model spec plus a protocol), not code: `paper-llama3` and
`paper-chatgpt` reproduce the release's judge prompts, `triggers` is a structured trigger-level
LLM judge, and `semantic` is the offline embedding judge.
"""
