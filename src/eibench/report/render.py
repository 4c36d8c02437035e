"""`render_report`: a report's tables in one format (md, csv, json, latex) or the whole
self-contained HTML page with plots and the sample browser."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from rich.markup import escape
from rich.table import Table

from eibench.report.data import ReportData, TableView
from eibench.report.tables import build_tables, to_csv, to_json, to_latex, to_markdown

Format = Literal["md", "csv", "json", "latex", "html"]


def render_report(
    report: ReportData,
    fmt: Format,
    *,
    with_paper: bool = False,
    ci: bool = False,
    plots_dir: Path | None = None,
) -> str:
    """The report as text in `fmt`. HTML always shows the 95% intervals and n (`ci`), and
    embeds each plot once (written to `plots_dir` when given, else to a temporary folder)."""
    tables = build_tables(report, with_paper=with_paper, ci=ci or fmt == "html")
    if fmt == "md":
        return to_markdown(tables)
    if fmt == "csv":
        return to_csv(report, with_paper=with_paper)
    if fmt == "json":
        return to_json(report, tables, with_paper=with_paper)
    if fmt == "latex":
        return to_latex(tables)
    from eibench.report.html import render_html
    from eibench.report.plots import draw_plots

    if plots_dir is not None:
        return render_html(report, tables, draw_plots(report, plots_dir, formats=("png", "svg")))
    with tempfile.TemporaryDirectory() as tmp:
        return render_html(report, tables, draw_plots(report, Path(tmp), formats=("svg",)))


def rich_table(view: TableView) -> Table:
    """A table for the terminal: setting blocks as section rows, best in block bold."""
    table = Table(title=escape(view.title), title_justify="left", caption_justify="left")
    table.add_column("Model")
    for column in view.columns:
        table.add_column(column, justify="right")
    block = None
    for row in view.rows:
        if row.block != block:
            block = row.block
            table.add_section()
            table.add_row(f"[bold italic]{escape(block)}[/]", *[""] * len(view.columns))
        cells = [
            f"[bold]{escape(c)}[/]" if b else escape(c)
            for c, b in zip(row.cells, row.bold, strict=True)
        ]
        label = f"[italic dim]{escape(row.label)}[/]" if row.published else escape(row.label)
        table.add_row(label, *cells)
    if view.note:
        table.caption = escape(view.note)
    return table
