"""eibench: the Emotion Interpretation benchmark toolkit (EIBench, CVPR 2025 "Why We Feel").

The library API, for notebooks and scripts. Nothing is printed: stages log their start and end
on the `eibench` logger, and `on_progress` (any callable taking a
`eibench.runner.progress.ProgressUpdate`) receives live counts:

    import eibench
    name, tally = eibench.run("prior", split="basic", limit=20)
    eibench.judge(name)                       # the offline semantic judge
    print(eibench.score(name).scores[0].rows[-1])

Each takes the options of its command as keyword arguments (`data`, `workspace`, `images`,
`concurrency`, ...); see `eibench.answers.benchmark.RunRequest`, `eibench.judges.run.JudgeRequest`
and `eibench.metrics.run_scores.score_run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eibench.errors import DataError, EIBenchError

if TYPE_CHECKING:
    from eibench.judges.request import JudgeSummary
    from eibench.metrics.run_scores import RunScores
    from eibench.runner.engine import Tally
    from eibench.runner.progress import OnProgress

from eibench.version import __version__

__all__ = ["DataError", "EIBenchError", "__version__", "judge", "run", "score"]


def run(
    model: str,
    split: str = "basic",
    setting: str = "user",
    *,
    on_progress: OnProgress | None = None,
    **options: Any,
) -> tuple[str, Tally]:
    """Answer `split` with `model` under `setting`, resuming what the workspace holds; returns
    the run name and what this call did. Same options as `eibench run`."""
    from eibench.answers.benchmark import RunRequest, run_benchmark

    request = RunRequest(model=model, split=split, setting=setting, **options)
    return run_benchmark(request, on_progress)


def judge(
    run: str, protocol: str = "semantic", *, on_progress: OnProgress | None = None, **options: Any
) -> JudgeSummary:
    """Judge the stored answers of `run` (only what is not judged yet). Same options as
    `eibench judge`; LLM protocols need `judge="openai:MODEL"` and its `options`."""
    from eibench.judges.request import JudgeRequest
    from eibench.metrics.answer_metrics import judge_and_measure

    return judge_and_measure(JudgeRequest(run=run, protocol=protocol, **options), on_progress)


def score(run: str, **options: Any) -> RunScores:
    """The score tables of `run`'s judgings, with 95% intervals (as `eibench score --json`)."""
    from eibench.metrics.run_scores import score_run

    return score_run(run, **options)
