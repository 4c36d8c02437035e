"""`eibench report`, `eibench eval` and `eibench quickstart`: tables, plots and HTML reports,
and experiment grids run from one file."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.atomic import write_text
from eibench.cli.console import ProgressBar, err, out, print_uncut
from eibench.cli.options import (
    RUNNER_PANEL,
    DataOption,
    ImagesOption,
    WorkspaceOption,
    checked_base_urls,
)
from eibench.errors import EIBenchError
from eibench.experiments import Grid, bundled, load_grid, run_grid
from eibench.experiments.config import GridModel
from eibench.metrics.rules import RuleSetName
from eibench.metrics.scores import ScorePolicy
from eibench.report.data import ReportData, collect

ReportRulesOption = Annotated[
    RuleSetName | None,
    typer.Option(
        "--rules",
        help="Scoring rule set of the measured cells: honest or release (see `eibench score "
        "--list-rules`). Default: release with --with-paper, as the published rows were "
        "scored, else honest. Protocols the release rules cannot read stay honest.",
        show_default=False,
    ),
]


class FormatChoice(str, Enum):
    md = "md"
    csv = "csv"
    json = "json"
    latex = "latex"
    html = "html"


def report(
    runs: Annotated[
        list[str] | None,
        typer.Option(
            "--runs",
            "--run",
            help="Runs to report (--runs A B, or repeat the flag); default --all.",
            show_default=False,
        ),
    ] = None,
    all_runs: Annotated[
        bool, typer.Option("--all", help="Every judged run in the store (the default).")
    ] = False,
    fmt: Annotated[
        FormatChoice | None,
        typer.Option(
            "--format",
            help="md, csv, json, latex, or html (self-contained: tables, plots, a sample "
            "browser, the manifest). Default: tables in the terminal.",
            show_default=False,
        ),
    ] = None,
    with_paper: Annotated[
        bool,
        typer.Option(
            "--with-paper", help="Add the paper's published rows, marked as not measured here."
        ),
    ] = False,
    ci: Annotated[
        bool, typer.Option("--ci", help="Show 95% intervals and n in the table cells.")
    ] = False,
    rules: ReportRulesOption = None,
    rules_diff: Annotated[
        bool,
        typer.Option(
            "--rules-diff",
            help="Instead of the tables: the ledger of every measured cell of the paper "
            "protocols, its mean under the honest and the release rules, and how much each "
            "release rule moved it (`eibench score --list-rules` says what each does).",
        ),
    ] = False,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", help="File to write (html default: report.html).", show_default=False
        ),
    ] = None,
    plots: Annotated[
        Path | None,
        typer.Option(
            "--plots", help="Also write the plots (PNG and SVG) here.", show_default=False
        ),
    ] = None,
    data: DataOption = None,
    images: ImagesOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """The paper's tables for judged runs: models grouped by setting, the four categories and
    Overall, `a/b` cells when both paper judge protocols are present; complex recall in a table
    of its own."""
    if runs and all_runs:
        raise EIBenchError("pass --runs or --all, not both")
    chosen = fmt.value if fmt else None
    if rules_diff:
        _print_ledger(list(runs or []), data, workspace, chosen)
        return
    policy = ScorePolicy(rules=rules or ("release" if with_paper else "honest"))
    report_data = collect(
        list(runs or []), data=data, workspace=workspace, images=images,
        samples=chosen == "html", policy=policy,
    )  # fmt: skip
    if plots is not None and chosen != "html":  # the HTML report draws them itself
        from eibench.report.plots import make_plots

        written = make_plots(report_data, plots)
        err.print(f"wrote {len(written)} plot file(s) to {escape(str(plots))}")
    _emit(report_data, chosen, out_path, with_paper, ci, plots)


def _print_ledger(
    runs: list[str], data: Path | None, workspace: Path | None, fmt: str | None
) -> None:
    import json

    from eibench.metrics.ledger import rules_ledger_of
    from eibench.metrics.rules import RELEASE_STEPS

    rows = rules_ledger_of(runs, data=data, workspace=workspace)
    if fmt == "json":
        out.out(json.dumps([r.model_dump() for r in rows], indent=2), highlight=False)
        return
    if fmt is not None:
        raise EIBenchError("--rules-diff prints a table, or JSON with --format json")
    from itertools import groupby

    for (run, judge, protocol), cells in groupby(rows, lambda r: (r.run, r.judge, r.protocol)):
        title = f"{escape(run)} · {escape(judge)} · {protocol}: recall %, each rule's move"
        table = Table(title=title, title_justify="left")
        for column in ("category", "honest", *STEP_HEADS.values(), "release"):
            table.add_column(column, justify="left" if column == "category" else "right",
                             no_wrap=True)  # fmt: skip
        for r in cells:
            moves = [_points(r.moves[step], signed=True) for step in RELEASE_STEPS]
            table.add_row(r.category, _points(r.honest), *moves, _points(r.release))
        print_uncut(table)
    for step, what in RELEASE_STEPS.items():
        err.print(f"  {STEP_HEADS[step]}: {step}, {escape(what)}")


STEP_HEADS = {"judge-total": "c/t", "first-strict": "first", "llama-fallback": "0/1",
              "stale": "stale"}  # fmt: skip


def _points(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.2f}" if signed else f"{100 * value:.2f}"


def _emit(
    report_data: ReportData,
    fmt: str | None,
    out_path: Path | None,
    with_paper: bool,
    ci: bool,
    plots: Path | None,
) -> None:
    from eibench.report.render import render_report, rich_table
    from eibench.report.tables import build_tables

    if fmt is None:
        for view in build_tables(report_data, with_paper=with_paper, ci=ci):
            print_uncut(rich_table(view))
        return
    text = render_report(report_data, fmt, with_paper=with_paper, ci=ci, plots_dir=plots)  # type: ignore[arg-type]
    if fmt == "html" and out_path is None:
        out_path = Path("report.html")
    if out_path is None:
        out.out(text, highlight=False)
        return
    write_text(out_path, text)
    err.print(f"wrote {escape(str(out_path))}")


def eval_(
    config: Annotated[Path, typer.Option("--config", help="Experiment file (YAML).")],
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a key: --set concurrency=32 --set params.max_tokens=256.",
            show_default=False,
        ),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="Replace the file's models (repeat).", show_default=False),
    ] = None,
    base_url: Annotated[
        list[str] | None,
        typer.Option(
            "--base-url",
            help="Server of the --model(s).",
            show_default=False,
            callback=checked_base_urls,
        ),
    ] = None,
    data: DataOption = None,
    images: ImagesOption = None,
    workspace: WorkspaceOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds for one model call, all of it (default: the file's timeout, 120).",
            rich_help_panel=RUNNER_PANEL,
            show_default=False,
        ),
    ] = None,
    rules: ReportRulesOption = None,
) -> None:
    """Run an experiment grid: every model x split x setting x persona is answered, then judged
    by every judge. What the store already has is skipped, so an interrupted grid finishes with
    the same command. `${ENV}` references in the file are expanded (`${VAR:-default}` too)."""
    grid = load_grid(config, overrides)
    if timeout is not None:
        grid = grid.model_copy(update={"timeout": timeout})
    policy = ScorePolicy(rules=rules or "honest")
    _run_grid(grid, models, base_url, data, images, workspace, None, policy)


def quickstart(
    data: DataOption = None,
    workspace: WorkspaceOption = None,
    out_path: Annotated[Path, typer.Option("--out", help="The HTML report.")] = Path("report.html"),
    limit: Annotated[
        int | None,
        typer.Option(
            help="Only a seeded sample of N of each split, stratified by emotion so that "
            "every category has a figure, for a quick look.",
            min=1,
            show_default=False,
        ),
    ] = None,
) -> None:
    """The whole job on the embedded defaults, offline: the `prior` baseline answers the basic
    and complex splits, the `semantic` judge scores them, the tables are printed and
    report.html is written."""
    grid = load_grid(bundled("quickstart"), [f"subset={limit}"] if limit else None)
    _run_grid(grid, None, None, data, None, workspace, out_path, ScorePolicy())


def _run_grid(
    grid: Grid,
    models: list[str] | None,
    base_url: list[str] | None,
    data: Path | None,
    images: Path | None,
    workspace: Path | None,
    report_path: Path | None,
    policy: ScorePolicy,
) -> None:
    updates: dict[str, object] = {}
    if models:
        updates["models"] = [GridModel(spec=m, base_url=base_url or []) for m in models]
    for key, value in (("data", data), ("images", images), ("workspace", workspace)):
        if value is not None:
            updates[key] = value
    grid = grid.model_copy(update=updates)
    summary = run_grid(grid, ProgressBar())
    err.print(
        f"grid {escape(grid.name)}: {len(summary.runs)} run(s), {summary.answered:,} answer(s) "
        f"and {summary.judged:,} verdict(s) made now"
    )
    target = report_path or grid.report
    if summary.runs:
        report_data = collect(
            summary.runs, data=grid.data, workspace=grid.workspace, images=grid.images,
            samples=target is not None, policy=policy,
        )  # fmt: skip
        _emit(report_data, None, None, False, True, None)
        if target is not None:
            _emit(report_data, "html", target, False, False, None)
    for problem in summary.problems:
        err.print(f"[yellow]{escape(problem)}[/]")
    if summary.problems:
        raise typer.Exit(1)
