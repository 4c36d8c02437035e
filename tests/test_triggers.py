"""Trigger lists as text: parsing, writing and comparison keys."""

from __future__ import annotations

import pytest

from eibench.data import parse_triggers
from eibench.data.triggers import loose_trigger_key, numbered, trigger_key


def test_numbered_list_is_split_into_items() -> None:
    assert parse_triggers("1. Raised fist.\n2. A protest scene.") == [
        "Raised fist.",
        "A protest scene.",
    ]


def test_malformed_separator_and_spaces_are_tolerated() -> None:
    text = "1. One.\n2. Two.\n3. Three.\n 4. Four, after a stray space."
    assert parse_triggers(text) == ["One.", "Two.", "Three.", "Four, after a stray space."]


def test_empty_items_and_trailing_whitespace_are_dropped() -> None:
    assert parse_triggers("1. A.\n2. B  \n3. \n") == ["A.", "B"]


def test_unnumbered_line_continues_the_previous_item() -> None:
    assert parse_triggers("1. A long\ntrigger.\n2. B.") == ["A long trigger.", "B."]


def test_other_markers_and_no_markers() -> None:
    assert parse_triggers("1) A\n2) B") == ["A", "B"]
    assert parse_triggers("- A\n- B") == ["A", "B"]
    assert parse_triggers("Just one sentence.") == ["Just one sentence."]


def test_numbers_inside_text_are_kept_verbatim() -> None:
    assert parse_triggers("1. 2 people hugging.\n2. Score 3.5 stars") == [
        "2 people hugging.",
        "Score 3.5 stars",
    ]


def test_only_empty_items_give_no_triggers() -> None:
    assert parse_triggers("1. \n2.\n") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Smiling face.", "smiling face"),
        ("  1.  Smiling   face!! ", "smiling face"),
        ("2) The crowd cheers", "the crowd cheers"),
        ("(3) The crowd cheers;", "the crowd cheers"),
        ("- **Tears** on her face...", "tears on her face"),
        ("• b) Trigger 4: A gift", "a gift"),
        ('"Her dog is lost."', "her dog is lost"),
        ("3 people are smiling.", "3 people are smiling"),
        ("A.I. robot", "a.i. robot"),
        ("   ", ""),
        ("7.", ""),
        ("-", ""),
    ],
)
def test_loose_trigger_key_strips_numbering_case_and_punctuation(text: str, expected: str) -> None:
    assert loose_trigger_key(text) == expected


def test_numbered_writes_release_lines_verbatim_or_stripped() -> None:
    text = numbered(["A smile.", " A gift "])
    assert text == "1. A smile.\n2.  A gift "
    assert numbered(["A smile.", " A gift "], strip=True) == "1. A smile.\n2. A gift"
    assert parse_triggers(text) == ["A smile.", "A gift"]
    assert numbered([]) == ""


def test_trigger_key_ignores_case_spacing_and_final_punctuation() -> None:
    assert trigger_key("A  Raised\tFist.") == trigger_key("a raised fist") == "a raised fist"
    assert trigger_key("Why is she sad?!") == "why is she sad?!"
    assert trigger_key("Why is she sad? !", trailing=".?!;, ") == "why is she sad"
    assert trigger_key("A fist .") == "a fist"
