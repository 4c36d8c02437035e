"""Parsing numbered trigger lists."""

from __future__ import annotations

from eibench.data import parse_triggers


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
