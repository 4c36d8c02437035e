"""`run_grid`: answer and judge every cell of an experiment grid. Each run and judging resumes
from the store, so an interrupted grid finishes with the same command; a cell that fails is
reported and the grid goes on with the others."""

from __future__ import annotations

from dataclasses import dataclass, field

from eibench.answers.benchmark import RunRequest, run_benchmark
from eibench.errors import EIBenchError
from eibench.experiments.config import Grid
from eibench.judges.request import JudgeRequest
from eibench.metrics.answer_metrics import judge_and_measure
from eibench.models.base import GenerationParams
from eibench.models.registry import ModelOptions
from eibench.runner.progress import OnProgress
from eibench.slugs import slug


@dataclass
class GridSummary:
    runs: list[str] = field(default_factory=list)
    answered: int = 0  # answers made now
    judged: int = 0  # verdicts made now
    problems: list[str] = field(default_factory=list)  # one line per cell that did not finish


def run_name(
    grid: Grid, label: str, split: str, setting: str, persona: str, profile: str | None = None
) -> str:
    parts = [grid.name, label, split, setting] + ([] if persona == "emotion" else [persona])
    return slug("-".join(parts + ([profile] if profile else [])))


def cells(grid: Grid) -> list[tuple[RunRequest, str]]:
    """(run request, model label) for every cell of the grid, in a stable order. A model with
    a generation profile takes its sampling from the profile (only the grid's seed applies)."""
    out = []
    for split in grid.splits:
        settings = grid.settings if split == "basic" else grid.complex_settings
        for model in grid.models:
            label = model.label or model.spec
            profile = model.profile or grid.profile
            params = (
                GenerationParams(seed=grid.params.seed)
                if profile
                else GenerationParams(**grid.params.model_dump())
            )
            for setting in settings:
                for persona in grid.personas:
                    request = RunRequest(
                        model=model.spec, split=split, setting=setting, persona=persona,
                        run=run_name(grid, label, split, setting, persona, profile),
                        profile=profile, data=grid.data,
                        images=grid.images, workspace=grid.workspace, params=params,
                        options=ModelOptions(
                            base_urls=model.base_url, cache_as=model.cache_as,
                            timeout=grid.timeout,
                        ),
                        concurrency=grid.concurrency, limit=grid.limit,
                        subset=grid.subset, subset_seed=grid.subset_seed,
                        max_attempts=grid.max_attempts,
                    )  # fmt: skip
                    out.append((request, label))
    return out


def run_grid(grid: Grid, on_progress: OnProgress | None = None) -> GridSummary:
    """Answer, then judge, every cell; what the store already has is skipped."""
    summary = GridSummary()
    for request, _ in cells(grid):
        name = request.run_name()
        try:
            _, done = run_benchmark(request, on_progress)
        except EIBenchError as exc:
            summary.problems.append(f"{name}: {exc}")
            continue
        summary.runs.append(name)
        summary.answered += done.ok
        if done.stopped or done.failed_total:
            summary.problems.append(
                f"{name}: {done.failed_total} answer(s) failed"
                + (f"; stopped: {done.stopped}" if done.stopped else "")
            )
        for judge in grid.judges:
            what = f"{name} judged by {judge.judge or 'semantic'} ({judge.protocol})"
            try:
                judged = judge_and_measure(
                    JudgeRequest(
                        run=name, protocol=judge.protocol, judge=judge.judge, data=grid.data,
                        workspace=grid.workspace,
                        options=ModelOptions(
                            base_urls=judge.base_url, cache_as=judge.cache_as,
                            timeout=grid.timeout,
                        ),
                        paper_sampling=judge.paper_sampling, concurrency=grid.judge_concurrency,
                        max_attempts=grid.max_attempts,
                    ),
                    on_progress,
                )  # fmt: skip
            except EIBenchError as exc:
                summary.problems.append(f"{what}: {exc}")
                continue
            summary.judged += judged.ok
            if judged.unparsed or judged.failed or judged.stopped:
                summary.problems.append(
                    f"{what}: {judged.unparsed} unparsed, {judged.failed} failed"
                    + (f"; stopped: {judged.stopped}" if judged.stopped else "")
                )
    return summary
