"""One line from a pydantic `ValidationError`, for input a person wrote (an experiment grid, a
judge panel, the config file): where the first problem is and what is wrong, with the allowed
keys when a key is unknown. Input values are never echoed: a value may have come from the
environment, and so be a secret."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]


def first_problem(exc: ValidationError, model: type[BaseModel]) -> tuple[Loc, str]:
    """(where, what) for the first error of `exc`, raised while validating `model`. An
    unknown key comes first: it is often the cause of a missing one (`judges` for `judge`)."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        allowed = allowed_keys(model, loc[:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return loc[:-1], f"unknown key {str(loc[-1])!r}{hint}"
    if kind == "missing" and loc:
        return loc[:-1], f"missing key {str(loc[-1])!r}"
    if kind in ("value_error", "assertion_error") and "error" in error.get("ctx", {}):
        return loc, str(error["ctx"]["error"])
    return loc, str(error["msg"])


def dotted(loc: Loc) -> str:
    """`models.0.base_url`: the same spelling as `--set` keys."""
    return ".".join(str(part) for part in loc)


def describe(exc: ValidationError, model: type[BaseModel]) -> str:
    """`where: what`, or just `what` for a problem with the whole input."""
    loc, problem = first_problem(exc, model)
    return f"{dotted(loc)}: {problem}" if loc else problem


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names of the model found at `loc` inside `model`; [] when there is none."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    for option in _options(current):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return list(option.model_fields)
    return []


def _options(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def _step(annotation: Any, part: str | int) -> Any:
    for option in _options(annotation):
        if isinstance(part, int) and get_origin(option) in (list, tuple):
            return get_args(option)[0]
        if isinstance(part, str) and isinstance(option, type) and issubclass(option, BaseModel):
            field = option.model_fields.get(part)
            if field is not None:
                return field.annotation
        if isinstance(part, str) and get_origin(option) is dict:
            return get_args(option)[1]
    return None
