"""How `GenerationParams` become the settings of a transformers `GenerationConfig` (the `hf:`
backend's `generate`). Pure: no torch, no model."""

from __future__ import annotations

from typing import Any

from eibench.models.base import GenerationParams

# Settings passed on whenever they are set, under transformers' names.
_ALWAYS = ("repetition_penalty", "num_beams", "no_repeat_ngram_size")
# Settings a generation profile passes on as they are; without one, eibench's rule sets them.
_PROFILE = ("do_sample", "temperature", "top_p")


def generation_settings(params: GenerationParams) -> dict[str, Any]:
    """The `GenerationConfig` attributes to set for `params`; the model's own config keeps the
    rest.

    Without a profile, eibench's explicit rule: temperature 0 is greedy decoding (sampling
    settings cleared), a temperature above 0 samples with `top_p` (default 1.0). Under a
    profile, only what the profile sets is changed (`do_sample`, `temperature`, `top_p` as
    given), as the release's scripts left the rest to the model. A temperature or token
    limit of None is the model's own."""
    settings: dict[str, Any] = {}
    if params.max_tokens is not None:
        settings["max_new_tokens"] = params.max_tokens
    if params.profile is None and params.temperature is not None:
        if params.temperature > 0:
            top_p = params.top_p if params.top_p is not None else 1.0
            settings.update(do_sample=True, temperature=params.temperature, top_p=top_p)
        else:
            settings.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        names: tuple[str, ...] = _ALWAYS
    else:
        names = _PROFILE + _ALWAYS
    for name in names:
        value = getattr(params, name)
        if value is not None:
            settings[name] = value
    return settings
