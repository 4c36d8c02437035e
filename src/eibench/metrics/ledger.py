"""The ledger of what the release's scoring rules change (`eibench report --rules-diff`).

For every measured cell of a paper-protocol judging (run x judge x category and Overall) it
gives the mean under the honest rules, the mean under the release's, and the move each of the
release's rules makes, applied one at a time in `RELEASE_STEPS` order on top of the ones before
it, so that the moves add up to the difference.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from eibench.errors import EIBenchError
from eibench.judges.paper import PAPER_PROTOCOLS
from eibench.metrics.rules import RELEASE_STEPS, ReleaseStep
from eibench.metrics.run_records import RunRecords
from eibench.metrics.scores import ScorePolicy, score_judging
from eibench.store import Store

LEDGER_RESAMPLES = 1  # the ledger shows means only, so no interval is drawn


class LedgerRow(BaseModel):
    """One cell: its mean under each rule set and each release rule's move (0-1 scale)."""

    run: str
    model: str
    split: str
    setting: str
    judge: str
    protocol: str
    category: str
    honest: float | None
    release: float | None
    n_honest: int = Field(description="samples the honest mean covers")
    n_release: int = Field(description="samples the release mean covers, stale ones included")
    moves: dict[str, float | None] = Field(
        description="release rule -> the change it makes to the mean (None: no mean either side)"
    )


def _step_policies() -> list[ScorePolicy]:
    """honest, then each release rule added in turn: the last is the release rules."""
    steps: list[ReleaseStep] = list(RELEASE_STEPS)
    return [
        ScorePolicy(rules="release", steps=tuple(steps[:k]), resamples=LEDGER_RESAMPLES)
        for k in range(len(steps) + 1)
    ]


def _change(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def rules_ledger(records: RunRecords) -> list[LedgerRow]:
    """The ledger rows of every paper-protocol judging of the run in `records`."""
    policies = _step_policies()
    config = records.config
    rows: list[LedgerRow] = []
    for judging in records.judgings:
        if judging.protocol not in PAPER_PROTOCOLS:
            continue
        judgments = list(records.judged[(judging.judge, judging.protocol)].values())
        tables = [
            score_judging(
                records.name, records.dataset, records.generations, judgments, p,
                judging.judge, judging.protocol,
            ).rows
            for p in policies
        ]  # fmt: skip
        for i, first in enumerate(tables[0]):
            means = [table[i].recall.estimate for table in tables]
            last = tables[-1][i]
            rows.append(
                LedgerRow(
                    run=records.name, model=config.model, split=config.split,
                    setting=config.setting, judge=judging.judge, protocol=judging.protocol,
                    category=first.label, honest=means[0], release=means[-1],
                    n_honest=first.n_scored, n_release=last.n_scored + last.n_stale,
                    moves={
                        step: _change(means[k], means[k + 1])
                        for k, step in enumerate(RELEASE_STEPS)
                    },
                )
            )  # fmt: skip
    return rows


def rules_ledger_of(
    runs: list[str], *, data: Path | None = None, workspace: Path | None = None
) -> list[LedgerRow]:
    """`rules_ledger` of each of `runs` (every run judged by a paper protocol when empty)."""
    with Store.open(workspace, create=False) as store:
        names = runs or [
            n for n in store.run_names()
            if any(j.protocol in PAPER_PROTOCOLS for j in store.judgings(n))
        ]  # fmt: skip
        if not names:
            raise EIBenchError("no run judged by a paper protocol: the release rules read only "
                               "{score: c/t} replies")  # fmt: skip
        return [row for name in names for row in rules_ledger(RunRecords.read(store, name, data))]
