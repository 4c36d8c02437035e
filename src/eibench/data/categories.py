"""The categories that scores are reported by, named and ordered as in the paper's tables."""

from __future__ import annotations

# The basic split's four emotions (`schema.BASIC_EMOTIONS`, in that order) as table columns.
CATEGORY_LABELS = {"happy": "Happy", "angry": "Angry", "sad": "Sadness", "excited": "Excitement"}
OVERALL = "Overall"  # every sample of the basic split together
COMPLEX = "Complex"  # the complex split: one mean over its 50 questions
BASIC_COLUMNS = (*CATEGORY_LABELS.values(), OVERALL)  # a basic-split table row, left to right
CATEGORY_ORDER = (*BASIC_COLUMNS, COMPLEX)  # where categories are listed or plotted


def category_label(name: str) -> str:
    """The one spelling tables use for a category: `sad` -> `Sadness`, `overall` -> `Overall`;
    complex-split folder names (`anger`, ...) and anything else unchanged."""
    return OVERALL if name == "overall" else CATEGORY_LABELS.get(name, name)
