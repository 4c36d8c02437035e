"""The paper's tables from report cells: rows are models grouped by setting, columns the four
categories and Overall (the complex split is its own table), cells `a/b` when both paper judge
protocols are present. Rendered as Markdown, CSV, JSON or LaTeX."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from eibench.data.categories import BASIC_COLUMNS, COMPLEX
from eibench.data.files import parse_json
from eibench.judges.paper import PAPER_PROTOCOLS
from eibench.report.data import Cell, ReportData, TableRow, TableView

SETTING_ORDER = ["User Question", "User Question & Caption", "User Question & CoT", "CFSA"]


@cache
def _published_file() -> dict[str, Any]:
    resource = resources.files("eibench").joinpath("report/published.json")
    data: dict[str, Any] = parse_json(resource.read_text("utf-8"), Path(str(resource)), pairs=False)
    return data


def published_citation() -> str:
    return str(_published_file()["citation"])


def published_cells() -> list[Cell]:
    """The paper's published figures (section 6 of the reference), as cells marked published."""
    cells = []
    for row in _published_file()["rows"]:
        for category, pair in row["scores"].items():
            for protocol, value in zip(PAPER_PROTOCOLS, pair, strict=True):
                cells.append(
                    Cell(
                        model=row["model"], setting=row["setting"], split=row["split"],
                        category=category, protocol=protocol, judge="published",
                        estimate=value / 100, published=True,
                    )
                )  # fmt: skip
    return cells


def _protocol_groups(cells: Sequence[Cell]) -> list[tuple[str, ...]]:
    """The paper's two protocols share a table (cells `a/b`); any other protocol has its own."""
    present = {c.protocol for c in cells}
    groups: list[tuple[str, ...]] = []
    paper = tuple(p for p in PAPER_PROTOCOLS if p in present)
    if paper:
        groups.append(paper)
    groups += [(p,) for p in sorted(present - set(PAPER_PROTOCOLS))]
    return groups


def interval_text(low: float, high: float, scale: float = 100, digits: int = 2) -> str:
    """`[low, high]` on `scale` (percent by default): readable with negative bounds too."""
    return f"[{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


def p_value_text(p: float, floor: float = 1e-4) -> str:
    """A p-value to 4 decimals, or `< 0.0001` below that (a permutation test's floor)."""
    return f"< {floor:g}" if p < floor else f"{p:.4f}"


def _fmt(cell: Cell | None, ci: bool) -> str:
    if cell is None or cell.estimate is None:
        return "-"
    text = f"{100 * cell.estimate:.2f}"
    if ci and cell.low is not None and cell.high is not None and not cell.published:
        text += f" {interval_text(cell.low, cell.high)} n={cell.n}"
    return text


def _block_key(setting: str) -> tuple[int, str]:
    base = next(
        (i for i, s in enumerate(SETTING_ORDER) if setting.startswith(s)), len(SETTING_ORDER)
    )
    return base, setting


def build_tables(
    report: ReportData, *, with_paper: bool = False, ci: bool = False
) -> list[TableView]:
    """The paper-layout tables of the report's cells (plus the published rows)."""
    cells = list(report.cells) + (published_cells() if with_paper else [])
    tables = []
    for split, columns in (("basic", list(BASIC_COLUMNS)), ("complex", [COMPLEX])):
        in_split = [c for c in cells if c.split == split]
        for protocols in _protocol_groups(in_split):
            chosen = [c for c in in_split if c.protocol in protocols]
            tables.append(_table(split, columns, protocols, chosen, ci))
    return tables


def _table(
    split: str, columns: list[str], protocols: tuple[str, ...], cells: list[Cell], ci: bool
) -> TableView:
    rows_by_key: dict[tuple[str, str, str, bool], dict[tuple[str, str], Cell]] = {}
    for c in cells:
        key = (c.setting, c.model, c.run, c.published)
        rows_by_key.setdefault(key, {}).setdefault((c.category, c.protocol), c)
    seen = {key: i for i, key in enumerate(rows_by_key)}  # published rows keep the paper's order
    ordered = sorted(
        rows_by_key,
        key=lambda k: (_block_key(k[0]), k[3], seen[k] if k[3] else 0, k[1], k[2]),
    )
    best: dict[tuple[str, str], float] = {}
    for (setting, _, _, published), found in rows_by_key.items():
        for (category, protocol), c in found.items():
            if published or c.estimate is None or protocol != protocols[0]:
                continue
            best[(setting, category)] = max(best.get((setting, category), -1.0), c.estimate)
    rows = []
    for setting, model, run, published in ordered:
        found = rows_by_key[(setting, model, run, published)]
        texts, bold = [], []
        for column in columns:
            parts = [_fmt(found.get((column, p)), ci) for p in protocols]
            texts.append("/".join(parts))
            lead = found.get((column, protocols[0]))
            bold.append(
                not published
                and lead is not None
                and lead.estimate is not None
                and lead.estimate == best.get((setting, column))
            )
        profile = next((c.profile for c in found.values() if c.profile), "")
        label = f"{model} (published)" if published else model
        label += f" [profile {profile}]" if profile else ""
        rows.append(
            TableRow(block=setting, label=label, cells=texts, bold=bold, published=published)
        )
    what = " / ".join(protocols)
    title = f"{'Basic' if split == 'basic' else 'Complex (multi-faceted)'} EI recall, % ({what})"
    note = "Best measured row of each setting block in bold."
    measured = [c for c in cells if not c.published]
    if measured:
        rules = " and ".join(sorted({c.rules for c in measured}))
        note += f" Measured cells are scored under the {rules} rules"
        paper = [c for c in measured if c.protocol in PAPER_PROTOCOLS]
        if paper and all(c.release_judging for c in paper):
            note += ", judged as the release did (--paper-sampling)"
        elif any(r.published for r in rows) and paper:
            note += (", judged at eibench's settings, not the release's (judge --paper-sampling "
                     "judges as the published rows were)")  # fmt: skip
        note += "."
    if any(r.published for r in rows):
        note += " Rows marked (published) are the paper's figures, not measured here: "
        note += published_citation()
    return TableView(title=title, columns=columns, rows=rows, note=note)


# formats ------------------------------------------------------------------------------------


def to_markdown(tables: Sequence[TableView]) -> str:
    out = []
    for t in tables:
        out += [f"### {t.title}", "", "| Model | " + " | ".join(t.columns) + " |"]
        out.append("|---|" + "---|" * len(t.columns))
        block = None
        for r in t.rows:
            if r.block != block:
                block = r.block
                out.append(f"| **_{_md(block)}_** |" + " |" * len(t.columns))
            cells = [f"**{c}**" if b else c for c, b in zip(r.cells, r.bold, strict=True)]
            label = f"_{_md(r.label)}_" if r.published else _md(r.label)
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        if t.note:
            out += ["", t.note]
        out.append("")
    return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def to_records(report: ReportData, *, with_paper: bool = False) -> list[dict[str, Any]]:
    """One record per cell with its interval and n: the tidy form of every table."""
    cells = list(report.cells) + (published_cells() if with_paper else [])
    return [c.model_dump() for c in cells]


def to_csv(report: ReportData, *, with_paper: bool = False) -> str:
    records = to_records(report, with_paper=with_paper)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(Cell.model_fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def to_json(report: ReportData, tables: Sequence[TableView], *, with_paper: bool = False) -> str:
    payload = {
        "cells": to_records(report, with_paper=with_paper),
        "tables": [t.model_dump() for t in tables],
        "manifest": report.manifest,
        "package_version": report.package_version,
    }
    return json.dumps(payload, indent=1, ensure_ascii=False)


_LATEX = {
    **{ch: "\\" + ch for ch in "&%$#_{}"},
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def _tex(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in text)


def to_latex(tables: Sequence[TableView]) -> str:
    out = []
    for t in tables:
        width = len(t.columns) + 1
        out += [r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex(t.title)}}}"]
        out += [rf"\begin{{tabular}}{{l{'c' * len(t.columns)}}}", r"\toprule"]
        out.append("Model & " + " & ".join(_tex(c) for c in t.columns) + r" \\")
        block = None
        for r in t.rows:
            if r.block != block:
                block = r.block
                out += [
                    r"\midrule",
                    rf"\multicolumn{{{width}}}{{l}}{{\textit{{{_tex(block)}}}}} \\",
                ]
            cells = [
                rf"\textbf{{{_tex(c)}}}" if b else _tex(c)
                for c, b in zip(r.cells, r.bold, strict=True)
            ]
            label = rf"\textit{{{_tex(r.label)}}}" if r.published else _tex(r.label)
            out.append(label + " & " + " & ".join(cells) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(out)
