"""A live progress bar: done and failed counts, rate, ETA, tokens and, where prices are known,
estimated cost."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from eibench.models.base import Usage
from eibench.runner.cost import Price


class RunProgress:
    """Counts what a run has done; shows it live when `console` is given."""

    def __init__(
        self, description: str, total: int, console: Console | None, price: Price | None = None
    ) -> None:
        self.done = 0
        self.failed = 0
        self.retries = 0
        self.usage = Usage()
        self.price = price
        self._started = time.perf_counter()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if console is not None:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._task = self._progress.add_task(description, total=total, status="")

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    @property
    def cost(self) -> float | None:
        return None if self.price is None else self.price.cost(self.usage)

    def status(self) -> str:
        tokens = self.usage.input_tokens + self.usage.output_tokens
        parts = [f"[red]{self.failed} failed[/]" if self.failed else "0 failed"]
        if self.retries:
            parts.append(f"{self.retries} retries")
        elapsed = time.perf_counter() - self._started
        parts.append(f"{(self.done + self.failed) / max(elapsed, 1e-9):.1f}/s")
        parts.append(f"{tokens:,} tok")
        if self.cost is not None:
            parts.append(f"${self.cost:,.4f}")
        return " · ".join(parts)

    def advance(self, ok: bool, usage: Usage) -> None:
        self.done += ok
        self.failed += not ok
        self.usage = self.usage + usage
        self._refresh(advance=1)

    def retried(self) -> None:
        self.retries += 1
        self._refresh(advance=0)

    def _refresh(self, advance: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=advance, status=self.status())
