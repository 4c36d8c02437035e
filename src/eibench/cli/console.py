"""The consoles the CLI writes to (results on stdout, messages and progress on stderr) and the
rich progress bar that renders the library's progress updates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.measure import Measurement

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from eibench.runner.progress import ProgressUpdate

out = Console()
err = Console(stderr=True)


def print_uncut(renderable: RenderableType, console: Console = out) -> None:
    """Print `renderable` (a table) at its natural width, wider than the terminal or a pipe's
    80 columns where it must be, so that no name or interval in it is ever cut."""
    natural = Measurement.get(console, console.options.update(width=10_000), renderable).maximum
    width = console.width
    console.width = max(width, natural)
    try:
        console.print(renderable, crop=False)
    finally:
        console.width = width


def status_line(update: ProgressUpdate) -> str:
    """Failures, retries, rate, tokens and (when priced) cost, for the bar's status column."""
    tokens = update.usage.input_tokens + update.usage.output_tokens
    parts = [f"[red]{update.failed} failed[/]" if update.failed else "0 failed"]
    if update.retries:
        parts.append(f"{update.retries} retries")
    parts.append(f"{update.rate:.1f}/s")
    parts.append(f"{tokens:,} tok")
    if update.cost is not None:
        parts.append(f"${update.cost:,.4f}")
    return " · ".join(parts)


class ProgressBar:
    """An `OnProgress` callback drawing one live bar on stderr per stage that has work."""

    def __init__(self, console: Console = err) -> None:
        self._console = console
        self._bars: dict[int, tuple[Progress, TaskID]] = {}

    def __call__(self, update: ProgressUpdate) -> None:
        if update.total == 0:
            return
        bar = self._bars.get(update.job)
        if bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self._console,
            )
            task = progress.add_task(update.label, total=update.total, status="")
            progress.start()
            bar = self._bars[update.job] = (progress, task)
        progress, task = bar
        progress.update(task, completed=update.done + update.failed, status=status_line(update))
        if update.finished:
            progress.stop()
            del self._bars[update.job]
