"""`eibench judge calibrate`: a stored judging against an audit campaign's people, with
bootstrap intervals, and a threshold fitted to them saved as a judge configuration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.cli.console import err, out
from eibench.cli.options import WorkspaceOption
from eibench.judges.protocols import ProtocolName
from eibench.report.tables import interval_text
from eibench.store.db import default_workspace

if TYPE_CHECKING:
    from eibench.review.calibration import Calibration


def calibrate(
    audit: Annotated[str, typer.Option(help="The audit campaign (human labels).")],
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
    """How far a judge agrees with people on the audited answers: per-trigger accuracy and
    Cohen's kappa (trigger-level judges), and the correlation of per-sample recall; with
    --save, the threshold that agrees best, saved as a judge configuration."""
    from eibench.judges.configs import Fit, JudgeConfig, save_judge_config
    from eibench.review.calibration import calibrate_judge

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
