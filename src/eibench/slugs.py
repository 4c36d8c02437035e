"""Free text (model specs, run, protocol and judge names) as a part of a file or run name."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

NAME_CHARS = "A-Za-z0-9._-"  # what a name part may hold as is: letters, digits, ".", "_", "-"


def slug(text: str, *, sep: str = "-", keep: str = NAME_CHARS, trim: str = "-") -> str:
    """`text` with each run of other characters replaced by `sep`, then `trim` cut off both ends.

    keep: the characters kept as they are, as the body of a regular-expression character class
    ("a-z0-9." keeps lower-case letters, digits and dots); trim: the characters removed from
    both ends afterwards ("" keeps the ends). `slug("openai:gpt-4o / basic")` is
    "openai-gpt-4o-basic".
    """
    return re.sub(f"[^{keep}]+", sep, text).strip(trim)


def check_name(value: str) -> str:
    """`value` when it is a plain name (`NAME_CHARS` only), else `ValueError` (for pydantic)."""
    if not value or slug(value) != value:
        raise ValueError("a name of letters, digits, '.', '_' and '-'")
    return value


Name = Annotated[str, AfterValidator(check_name)]
"""A name of letters, digits, ".", "_" and "-": a judge configuration's, a profile's."""
