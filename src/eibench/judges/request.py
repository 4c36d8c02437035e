"""What `judge_run` takes and gives, and what both judge loops (LLM and semantic) share: the
run's dataset, checked against its fingerprint, and the answers still to judge."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from eibench.data import load_split, resolve_data_dir
from eibench.data.load import Dataset
from eibench.errors import EIBenchError
from eibench.judges.cascade import Cascade
from eibench.judges.configs import JudgeConfig
from eibench.judges.protocols import SEMANTIC
from eibench.models.base import GenerationParams
from eibench.models.registry import ModelOptions
from eibench.records.runs import is_current
from eibench.runner.engine import JobRequest, Tally
from eibench.store import Generation, Store


class JudgeRequest(JobRequest):
    """Everything `eibench judge` takes for one judge."""

    run: str
    protocol: str = SEMANTIC
    judge: str | None = Field(
        None, description="judge model spec; for `semantic`, the encoder (default: MiniLM)"
    )
    data: Path | None = None
    workspace: Path | None = None
    options: ModelOptions = ModelOptions()
    params: GenerationParams = GenerationParams()
    paper_sampling: bool = Field(
        False,
        description="judge as the release's scripts did (paper protocols only): their sampling, "
        "the raw answer and ground-truth string, the identical request re-sent",
    )
    max_asks: int = Field(5, description="asks per answer while the reply cannot be read")
    replace: bool = False
    coherence: bool = True
    coherence_encoder: str | None = None
    judge_config: JudgeConfig | None = Field(
        None, description="a fitted threshold for the protocol (`eibench judge calibrate`)"
    )
    cascade: Cascade | None = Field(
        None, description="semantic: a model judge for the offline judge's uncertain triggers"
    )

    def check_judge_config(self) -> None:
        """A one-line error when the judge configuration (or a cascade) is for another
        protocol."""
        if self.cascade is not None and self.protocol != SEMANTIC:
            raise EIBenchError(
                f"--cascade adds a model to the semantic judge, not to {self.protocol}"
            )
        if self.judge_config is not None and self.judge_config.protocol != self.protocol:
            raise EIBenchError(
                f"judge configuration {self.judge_config.name!r} is for the "
                f"{self.judge_config.protocol} protocol, not {self.protocol}"
            )

    def settings(self, **settings: object) -> dict[str, object]:
        """`settings` plus the judge configuration's label (and `paper_sampling` when set), as
        the judging records them."""
        if self.paper_sampling:
            settings["paper_sampling"] = True
        if self.judge_config is not None:
            settings["judge_config"] = self.judge_config.label
        return settings


@dataclass
class JudgeSummary(Tally):
    """What one `judge_run` did: the engine's tally, and which judging it was."""

    judge: str = ""
    protocol: str = ""
    answers: int = 0  # answered samples of the run
    coherence: int = 0  # answers whose coherence was computed now
    first_ask: int = 0  # LLM judges: replies read on the first ask (the rest needed re-asks)


def run_dataset(store: Store, run: str, data: Path | None) -> Dataset:
    """The split a stored run answered, checked against the run's dataset fingerprint."""
    config = store.require_run(run)
    dataset = load_split(resolve_data_dir(data), config.split)
    if dataset.fingerprint != config.dataset:
        raise EIBenchError(
            f"the {config.split} data at hand differs from the data run {run!r} answered "
            f"(fingerprint {dataset.fingerprint} vs {config.dataset}); use the same release"
        )
    return dataset


def todo_samples(
    answers: dict[str, Generation], states: dict[str, tuple[str, str]], retry_failed: bool
) -> list[str]:
    """Answered samples with no verdict, a verdict on an older answer, or (with
    `retry_failed`) an unparsed or failed judgment."""
    return [
        sid
        for sid, generation in answers.items()
        if (state := states.get(sid)) is None
        or not is_current(generation, state[1])
        or (retry_failed and state[0] != "ok")
    ]
