"""The paper-layout tables and their formats, on hand-made report cells."""

from __future__ import annotations

import csv
import io
import json

from eibench.report.data import Cell, ReportData
from eibench.report.tables import (
    build_tables,
    published_cells,
    to_csv,
    to_json,
    to_latex,
    to_markdown,
)

CATEGORIES = ["Happy", "Angry", "Sadness", "Excitement", "Overall"]


def cells(model: str, setting: str, protocol: str, base: float, run: str) -> list[Cell]:
    return [
        Cell(
            model=model, setting=setting, split="basic", category=c, protocol=protocol,
            judge=f"judge-{protocol}", estimate=base + i / 100, low=base - 0.05,
            high=base + 0.05, n=100, run=run,
        )
        for i, c in enumerate(CATEGORIES)
    ]  # fmt: skip


def report() -> ReportData:
    out = []
    for model, base in (("model-a", 0.5), ("model-b", 0.6)):
        for setting in ("User Question", "User Question & CoT"):
            run = f"{model}-{setting}"
            out += cells(model, setting, "paper-llama3", base, run)
            out += cells(model, setting, "paper-chatgpt", base - 0.1, run)
            out += cells(model, setting, "semantic", base - 0.2, run)
    out.append(
        Cell(model="model-a", setting="User Question", split="complex", category="Complex",
             protocol="paper-llama3", judge="j", estimate=0.3, n=50, run="model-a-complex")
    )  # fmt: skip
    return ReportData(cells=out)


def test_paper_protocols_share_a_table_with_a_slash_b_cells() -> None:
    tables = build_tables(report())
    titles = [t.title for t in tables]
    assert titles[0].startswith("Basic") and "paper-llama3 / paper-chatgpt" in titles[0]
    assert any("semantic" in t and t.startswith("Basic") for t in titles)
    assert any(t.startswith("Complex") for t in titles)
    paper = tables[0]
    assert paper.columns == CATEGORIES
    first = paper.rows[0]
    assert first.block == "User Question" and first.label == "model-a"
    assert first.cells[0] == "50.00/40.00" and first.cells[-1] == "54.00/44.00"
    # model-b is best in every block, by the lead protocol
    for row in paper.rows:
        assert all(row.bold) == (row.label == "model-b") and any(row.bold) == all(row.bold)
    assert [r.block for r in paper.rows] == ["User Question"] * 2 + ["User Question & CoT"] * 2


def test_ci_adds_interval_and_n() -> None:
    (table, *_) = build_tables(report(), ci=True)
    assert table.rows[0].cells[0] == "50.00 [45.00, 55.00] n=100/40.00 [35.00, 45.00] n=100"


def test_published_rows_are_marked_and_never_bold() -> None:
    tables = build_tables(report(), with_paper=True)
    paper = tables[0]
    published = [r for r in paper.rows if r.published]
    assert len(published) == 31 and not any(any(r.bold) for r in published)
    haiku = next(r for r in published if r.label.startswith("Claude-3-haiku"))
    assert haiku.label.endswith("(published)") and haiku.cells[-1] == "63.24/62.41"
    assert "not measured here" in paper.note and "arXiv:2504.07521" in paper.note
    complex_table = next(t for t in tables if t.title.startswith("Complex"))
    assert any(r.cells == ["39.27/39.57"] for r in complex_table.rows)
    assert {c.category for c in published_cells() if c.split == "complex"} == {"Complex"}


def test_markdown_bolds_the_best_and_escapes_names() -> None:
    data = report()
    data.cells.append(
        Cell(model="evil|*_model", setting="User Question", split="basic", category="Happy",
             protocol="semantic", judge="j", estimate=0.1, n=3, run="evil")
    )  # fmt: skip
    text = to_markdown(build_tables(data))
    assert "| **_User Question_** |" in text
    assert "**60.00/50.00**" in text
    assert "evil\\|\\*\\_model" in text


def test_latex_escapes_and_marks_blocks() -> None:
    data = report()
    data.cells = [c.model_copy(update={"model": "a_b&c%"}) for c in data.cells]
    text = to_latex(build_tables(data))
    assert r"a\_b\&c\%" in text and r"\multicolumn{6}{l}{\textit{User Question}}" in text
    assert text.count(r"\begin{tabular}") == 3


def test_csv_and_json_carry_intervals_and_n() -> None:
    data = report()
    rows = list(csv.DictReader(io.StringIO(to_csv(data))))
    assert len(rows) == len(data.cells)
    assert {"estimate", "low", "high", "n", "published"} <= set(rows[0])
    payload = json.loads(to_json(data, build_tables(data), with_paper=True))
    assert len(payload["cells"]) == len(data.cells) + len(published_cells())
    assert payload["tables"][0]["rows"][0]["cells"][0] == "50.00/40.00"
