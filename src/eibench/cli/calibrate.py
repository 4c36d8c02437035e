"""`eibench judge calibrate`: a stored judging against an audit campaign's people, with
bootstrap intervals, and a threshold fitted to them saved as a judge configuration; or the
offline judges against a labelled set, per answer style."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.cli.console import err, out, print_uncut
from eibench.cli.options import DataOption, FoldOption, WorkspaceOption
from eibench.errors import EIBenchError
from eibench.judges.protocols import ProtocolName
from eibench.report.tables import interval_text
from eibench.store.db import default_workspace

if TYPE_CHECKING:
    from eibench.review.calibration import Calibration
    from eibench.review.labelled import StyleAgreement


def calibrate(
    audit: Annotated[
        str | None,
        typer.Option(help="The audit campaign (human labels).", show_default=False),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Instead of --audit: a labelled set (JSON lines as tests/data/judge_labels/"
            "labels.jsonl: split, image, question, style, answer, labels, denied, fold); the "
            "offline judges (learned, the default, and word-recall) judge its answers.",
            show_default=False,
        ),
    ] = None,
    fold: FoldOption = "all",
    data: DataOption = None,
    run: Annotated[str, typer.Option(help="The run it audited (default: its source).")] = "",
    judge: Annotated[
        str | None, typer.Option(help="Judge as stored (see `eibench score`).", show_default=False)
    ] = None,
    protocol: Annotated[
        ProtocolName | None,
        typer.Option(help="The judging's protocol (when the run has several).", show_default=False),
    ] = None,
    save: Annotated[
        str | None,
        typer.Option(
            help="Fit the threshold of a judge that scores each trigger (entail, semantic) to "
            "these labels and save it as this named judge configuration, for "
            "`eibench judge --judge-config NAME`.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """How far a judge agrees with people, with bootstrap 95% intervals: a stored judging
    against an audit campaign (per-trigger accuracy and Cohen's kappa, recall correlation; with
    --save, the threshold that agrees best, saved as a judge configuration), or the offline
    judges against a labelled set (--labels), per answer style."""
    from eibench.judges.configs import Fit, JudgeConfig, save_judge_config
    from eibench.review.calibration import calibrate_judge

    if (audit is None) == (labels is None):
        raise EIBenchError("pass one of --audit NAME and --labels FILE")
    if labels is not None:
        _labelled(labels, data, fold)
        return
    assert audit is not None

    result = calibrate_judge(audit, run or None, judge, protocol, fit=save is not None,
                             workspace=workspace)  # fmt: skip
    columns = [("as stored", result.calibration)]
    if result.fit is not None:
        columns.append((f"threshold {result.fit.threshold:g}", result.fit.calibration))
    table = Table(title=f"{escape(result.name)} vs people ({escape(audit)})",
                  title_justify="left", show_header=result.fit is not None)  # fmt: skip
    table.add_column(style="bold")
    for heading, _ in columns:
        table.add_column(heading, justify="right")
    for label, cell in _CALIBRATION_ROWS:
        table.add_row(label, *(cell(c) for _, c in columns))
    if (r := result.reliability) is not None:  # of its probabilities, whatever the threshold
        table.add_row("Brier (base rate)", f"{r.brier:.3f} ({r.base_brier:.3f})")
        table.add_row("expected calibration error", f"{r.ece:.3f}")
    out.print(table)
    if save is None or result.fit is None:
        return
    fitted = result.fit.calibration
    config = JudgeConfig(
        name=save,
        protocol=result.judging.protocol,
        threshold=result.fit.threshold,
        fit=Fit(audit=audit, run=result.run, judge=result.judging.judge,
                samples=fitted.n_samples, triggers=fitted.n_triggers, kappa=fitted.kappa,
                accuracy=fitted.accuracy, fitted_at=datetime.now(timezone.utc)),
    )  # fmt: skip
    path = save_judge_config(config, workspace or default_workspace())
    err.print(f"saved judge configuration {config.label} to {escape(str(path))}; use it with "
              f"eibench judge --protocol {config.protocol} --judge-config {save}")  # fmt: skip


def _labelled(path: Path, data: Path | None, fold: str) -> None:
    """Each offline judge against the labelled set: a table per judge, rows per style."""
    from eibench.data import resolve_data_dir
    from eibench.embed import load_encoder
    from eibench.judges.learned import LearnedJudge
    from eibench.judges.semantic import SemanticJudge
    from eibench.review.labelled import load_labelled, offline_agreement

    rows = load_labelled(path, resolve_data_dir(data), fold)
    encoder = load_encoder("minilm")
    learned = LearnedJudge(encoder)
    judges = [(f"learned judge {learned.model.version} (default)", learned),
              ("word-recall judge", SemanticJudge(encoder))]  # fmt: skip
    for name, judge in judges:
        print_agreement(f"{name} vs {path} ({fold})", offline_agreement(rows, judge))


def print_agreement(title: str, result: StyleAgreement) -> None:
    """A judge's agreement with a labelled set: a row per answer style, intervals in brackets
    (a judge that gives only counts has no per-trigger kappa or accuracy: shown as -)."""
    table = Table(title=escape(title), title_justify="left")
    for heading in ("answers", "n", "triggers", "kappa", "accuracy", "|recall diff|"):
        table.add_column(heading, justify="left" if heading == "answers" else "right")
    shown = ("kappa", "accuracy") if result.per_trigger else ()
    for style, c in [("all", result.overall), *result.styles.items()]:
        table.add_row(style, f"{c.n_samples:,}", f"{c.n_triggers:,}",
                      *(_with_interval(c, k) if k in shown else "-"
                        for k in ("kappa", "accuracy")),
                      _with_interval(c, "mean_abs_recall_diff"))  # fmt: skip
    print_uncut(table)
    if result.denied:
        share = result.denied_kept / result.denied
        out.print(f"  denied or other-person mentions not counted: {result.denied_kept} of "
                  f"{result.denied} ({share:.0%})")  # fmt: skip
    if (r := result.reliability) is not None:
        out.print(f"  its probabilities vs people: Brier {r.brier:.3f} (saying the base rate: "
                  f"{r.base_brier:.3f}), expected calibration error {r.ece:.3f}")  # fmt: skip
    if result.unjudged:
        out.print(f"  [yellow]{result.unjudged} answer(s) have no verdict (unparsed or failed) "
                  "and are left out[/]")  # fmt: skip


def _with_interval(calibration: Calibration, name: str) -> str:
    """A figure to 3 decimals and its bootstrap 95% interval, `0.612 [0.548, 0.671]`."""
    value: float = getattr(calibration, name)
    bounds = calibration.intervals.get(name)
    return f"{value:.3f}" + ("" if bounds is None else f" {interval_text(*bounds, 1, 3)}")


_CALIBRATION_ROWS: tuple[tuple[str, Callable[[Calibration], str]], ...] = (
    ("samples", lambda c: f"{c.n_samples:,}"),
    ("triggers", lambda c: f"{c.n_triggers:,}"),
    ("per-trigger accuracy", lambda c: _with_interval(c, "accuracy")),
    ("Cohen's kappa", lambda c: _with_interval(c, "kappa")),
    ("recall Pearson", lambda c: f"{c.recall_pearson:.3f}"),
    ("recall Spearman", lambda c: f"{c.recall_spearman:.3f}"),
    ("mean |recall difference|", lambda c: _with_interval(c, "mean_abs_recall_diff")),
    ("human / judge recall", lambda c: f"{c.human_recall:.3f} / {c.judge_recall:.3f}"),
)
