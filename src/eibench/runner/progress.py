"""What a running stage reports: counts it keeps and hands, as `ProgressUpdate`s, to a
callback the caller chooses (the CLI draws a rich bar; a notebook may print or ignore them).
The start and end of every stage are also logged on the `eibench` logger."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from eibench.models.base import Usage
from eibench.runner.cost import Price

log = logging.getLogger("eibench.runner")
_ids = itertools.count(1)


@dataclass(frozen=True)
class ProgressUpdate:
    """A stage's counts at one moment; `finished` is set once, on the last update."""

    job: int  # distinguishes two stages that share a label
    label: str
    total: int
    done: int
    failed: int
    retries: int
    usage: Usage
    cost: float | None
    elapsed: float
    finished: bool = False

    @property
    def rate(self) -> float:
        return (self.done + self.failed) / max(self.elapsed, 1e-9)


OnProgress = Callable[[ProgressUpdate], None]


class RunProgress:
    """Counts what a stage has done and reports each change to `on_progress` when given."""

    def __init__(
        self,
        label: str,
        total: int,
        on_progress: OnProgress | None = None,
        price: Price | None = None,
    ) -> None:
        self.label, self.total, self.price = label, total, price
        self.done = 0
        self.failed = 0
        self.retries = 0
        self.usage = Usage()
        self._job = next(_ids)
        self._started = time.perf_counter()
        self._on_progress = on_progress

    def __enter__(self) -> RunProgress:
        self._started = time.perf_counter()
        log.info("%s: %d to do", self.label, self.total)
        self._report()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._report(finished=True)
        log.info(
            "%s: %d done, %d failed, %d retries in %.1f s",
            self.label,
            self.done,
            self.failed,
            self.retries,
            time.perf_counter() - self._started,
        )

    @property
    def cost(self) -> float | None:
        return None if self.price is None else self.price.cost(self.usage)

    def advance(self, ok: bool, usage: Usage) -> None:
        self.done += ok
        self.failed += not ok
        self.usage = self.usage + usage
        self._report()

    def retried(self) -> None:
        self.retries += 1
        self._report()

    def _report(self, finished: bool = False) -> None:
        if self._on_progress is None:
            return
        self._on_progress(
            ProgressUpdate(
                job=self._job,
                label=self.label,
                total=self.total,
                done=self.done,
                failed=self.failed,
                retries=self.retries,
                usage=self.usage,
                cost=self.cost,
                elapsed=time.perf_counter() - self._started,
                finished=finished,
            )
        )
