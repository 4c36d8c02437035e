"""Score tables: per-category and overall recall with bootstrap intervals and honest counts.

Every mean comes with how many samples it covers and how many it could not: generation
failures, judge failures (unparsed replies or failed calls), and answers not judged yet. The
overall is the micro mean over samples, as in the paper; the macro mean over categories is
reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from eibench.data.categories import CATEGORY_LABELS, OVERALL
from eibench.data.load import Dataset
from eibench.data.schema import BASIC_EMOTIONS
from eibench.judges.paper import PAPER_PROTOCOLS
from eibench.metrics.rules import ReleaseStep, RuleSetName, release_value, stale_scores
from eibench.metrics.stats import Interval, bootstrap_macro, bootstrap_mean
from eibench.records.runs import is_current
from eibench.store import Generation, Judgment

Denominator = Literal["truth", "judge"]


class ScorePolicy(BaseModel):
    """How judgments become numbers: a rule set (`eibench.metrics.rules`), and with `honest`
    two of the release's choices one at a time."""

    rules: RuleSetName = "honest"
    unparsed_as_zero: bool = Field(
        False, description="score an unparseable judge reply as 0 (the release's behaviour)"
    )
    denominator: Denominator = Field(
        "truth", description="truth: ground-truth count; judge: the judge's own total (release)"
    )
    steps: tuple[ReleaseStep, ...] | None = Field(
        None, description="the release steps applied, when not all of the rule set's (ledger)"
    )
    resamples: int = 2000
    seed: int = 0
    level: float = 0.95

    def applies(self, step: ReleaseStep) -> bool:
        """Whether the release's rule `step` applies under this policy."""
        if self.steps is not None:
            return step in self.steps
        if self.rules == "release":
            return True
        return step == "judge-total" and self.denominator == "judge"

    def for_protocol(self, protocol: str) -> ScorePolicy:
        """This policy for `protocol`'s verdicts: the release rules read `{score: c/t}`
        replies, so other protocols are scored by the honest rules."""
        if self.rules == "release" and protocol not in PAPER_PROTOCOLS:
            return self.model_copy(update={"rules": "honest", "steps": None})
        return self


class Mean(BaseModel):
    """A mean with its bootstrap interval, on the 0-1 scale."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int

    @classmethod
    def of(cls, interval: Interval) -> Mean:
        def clean(x: float) -> float | None:
            return None if x != x else x  # nan -> None, so JSON stays valid

        return cls(
            estimate=clean(interval.estimate),
            low=clean(interval.low),
            high=clean(interval.high),
            n=interval.n,
        )


class Row(BaseModel):
    label: str
    recall: Mean
    n_scored: int
    n_stale: int = Field(0, description="release rules: unreadable replies given a stale score")
    n_generation_failed: int = 0
    n_judge_failed: int = 0
    n_unjudged: int = 0
    n_not_run: int = 0


class Score(BaseModel):
    run: str
    split: str
    judge: str
    protocol: str
    version: str = Field("", description="the judge version that made the verdicts")
    policy: ScorePolicy
    rows: list[Row] = Field(description="per category, then the overall (micro) row")
    macro: Mean | None = Field(None, description="mean of the category means (basic split)")
    extra: dict[str, Mean] = Field(
        default_factory=dict, description="precision, f1, unsupported_rate where the judge gives"
    )


def sample_value(judgment: Judgment, policy: ScorePolicy) -> float | None:
    """The sample's recall under `policy`, or None when it cannot be scored."""
    policy = policy.for_protocol(judgment.protocol)
    if policy.applies("first-strict"):
        if judgment.status not in RELEASE_LINED:
            return None
        fallback = policy.applies("llama-fallback") and judgment.protocol == "paper-llama3"
        return release_value(judgment.raw, llama_fallback=fallback)
    if judgment.status == "judge_unparsed" and policy.unparsed_as_zero:
        return 0.0
    verdict = judgment.verdict
    if judgment.status != "ok" or verdict is None:
        return None
    if policy.applies("judge-total") and verdict.judge_total:
        return verdict.correct / verdict.judge_total  # the release's arithmetic, uncapped
    return verdict.recall


RELEASE_LINED = ("ok", "judge_unparsed")  # judgments that had a line in the release's file


def categories(dataset: Dataset) -> list[tuple[str, list[str]]]:
    """(label, sample ids) per category: the four basic emotions, or the complex split whole."""
    if dataset.split != "basic":
        return []
    return [
        (CATEGORY_LABELS[e], [s.id for s in dataset.samples if s.emotion == e])
        for e in BASIC_EMOTIONS
    ]


def score_values(
    dataset: Dataset,
    values: Mapping[str, float],
    generations: Mapping[str, Generation],
    judgments: Mapping[str, Judgment],
    policy: ScorePolicy,
    overall_label: str = OVERALL,
    stale: Mapping[str, float] | None = None,
) -> tuple[list[Row], Mean | None]:
    """Rows per category and overall, and the macro mean, of per-sample `values`; `stale`
    values (the release rules') count in the category rows only."""
    stale = stale or {}

    def row(label: str, ids: Sequence[str], with_stale: bool) -> Row:
        counts = {"gen": 0, "judge": 0, "unjudged": 0, "not_run": 0}
        in_row = {**values, **stale} if with_stale else values
        for sid in ids:
            generation = generations.get(sid)
            if sid in in_row:
                continue
            if generation is None:
                counts["not_run"] += 1
            elif generation.status != "ok":
                counts["gen"] += 1
            elif sid in judgments:
                counts["judge"] += 1
            else:
                counts["unjudged"] += 1
        scored = [in_row[sid] for sid in ids if sid in in_row]
        interval = bootstrap_mean(
            scored, resamples=policy.resamples, seed=policy.seed, level=policy.level
        )
        return Row(
            label=label,
            recall=Mean.of(interval),
            n_scored=sum(sid in values for sid in ids),
            n_stale=sum(sid in stale for sid in ids) if with_stale else 0,
            n_generation_failed=counts["gen"],
            n_judge_failed=counts["judge"],
            n_unjudged=counts["unjudged"],
            n_not_run=counts["not_run"],
        )

    groups = categories(dataset)
    rows = [row(label, ids, True) for label, ids in groups]
    rows.append(row(overall_label, [s.id for s in dataset.samples], False))
    macro = None
    if groups:
        in_groups = {**values, **stale}
        ids = [sid for _, members in groups for sid in members if sid in in_groups]
        labels = [label for label, members in groups for sid in members if sid in in_groups]
        macro = Mean.of(
            bootstrap_macro(
                [in_groups[sid] for sid in ids],
                labels,
                resamples=policy.resamples,
                seed=policy.seed,
                level=policy.level,
            )
        )
    return rows, macro


def current_judgments(
    judgments: Sequence[Judgment], generations: Mapping[str, Generation]
) -> dict[str, Judgment]:
    """The judgments whose answer is still the stored one (a regenerated answer's old verdict
    no longer counts)."""
    return {
        j.sample_id: j
        for j in judgments
        if is_current(generations.get(j.sample_id), j.answer_digest)
    }


def score_judging(
    run: str,
    dataset: Dataset,
    generations: Mapping[str, Generation],
    judgments: Sequence[Judgment],
    policy: ScorePolicy,
    judge: str,
    protocol: str,
    version: str = "",
) -> Score:
    """The score table of one (judge, protocol) on a run; `version`: the judging's."""
    current = current_judgments(judgments, generations)
    policy = policy.for_protocol(protocol)
    values = {sid: v for sid, j in current.items() if (v := sample_value(j, policy)) is not None}
    stale = None
    if policy.applies("stale"):
        lined = [sid for sid, j in current.items() if j.status in RELEASE_LINED]
        stale = stale_scores([s.id for s in dataset.samples], values, lined)
    rows, macro = score_values(dataset, values, generations, current, policy, stale=stale)
    extra: dict[str, Mean] = {}
    for name in ("precision", "f1", "unsupported_rate"):
        found = [
            x
            for j in current.values()
            if j.status == "ok" and j.verdict is not None
            and (x := getattr(j.verdict, name)) is not None
        ]  # fmt: skip
        if found:
            extra[name] = Mean.of(
                bootstrap_mean(found, resamples=policy.resamples, seed=policy.seed)
            )
    return Score(
        run=run,
        split=dataset.split,
        judge=judge,
        protocol=protocol,
        version=version,
        policy=policy,
        rows=rows,
        macro=macro,
        extra=extra,
    )
