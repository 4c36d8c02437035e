"""What a report shows, gathered once from the store: score cells, the samples behind them,
cost points, judge-agreement pairs, and each run's manifest. Tables, plots and the HTML report
all read this one record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from eibench.data.categories import CATEGORY_LABELS, COMPLEX
from eibench.errors import EIBenchError
from eibench.metrics.run_records import RunRecords
from eibench.metrics.run_scores import score_records
from eibench.metrics.scores import ScorePolicy, sample_value
from eibench.records.runs import LABELLED
from eibench.store import JudgingConfig, Judgment, Store
from eibench.version import __version__

SETTING_LABELS = {
    "user": "User Question",
    "caption": "User Question & Caption",
    "cot": "User Question & CoT",
    "cfsa": "CFSA",
}


class Cell(BaseModel):
    """One mean of a report table: a run (or a published row), a judging, a category."""

    model: str
    setting: str
    split: str
    category: str = Field(description="Happy, Angry, Sadness, Excitement, Overall or Complex")
    protocol: str
    judge: str
    estimate: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0
    run: str = ""
    published: bool = Field(False, description="a figure from the paper, not measured here")
    rules: str = Field("honest", description="the scoring rule set the mean was computed under")
    profile: str = Field("", description="the generation profile (NAME@VERSION) of the run")
    release_judging: bool = Field(
        False, description="judged as the release's scripts did (`judge --paper-sampling`)"
    )


class TriggerView(BaseModel):
    text: str
    covered: bool | None = None
    evidence: str | None = None


class VerdictView(BaseModel):
    """One judging's verdict on an answer, for a sample card."""

    judge: str
    protocol: str
    status: str = Field(description="ok, judge_unparsed, failed, or unjudged (no judgment)")
    recall: float | None = None
    covered: list[bool | None] | None = Field(
        None, description="per ground-truth trigger, in order; None when the judge marks none"
    )


class SampleView(BaseModel):
    """One answered sample with its verdict, for the sample browser."""

    run: str
    model: str
    setting: str
    split: str
    sample_id: str
    image: str
    category: str
    question: str
    answer: str | None
    status: str = Field(description="ok, failed (generation), judge_unparsed, unjudged, ...")
    judge: str = ""
    protocol: str = ""
    recall: float | None = None
    triggers: list[TriggerView] = Field(default_factory=list)
    verdicts: list[VerdictView] = Field(
        default_factory=list, description="every judging's verdict, the first judging's first"
    )
    thumbnail: str | None = Field(None, description="a data: URI of the downscaled image")


class CostPoint(BaseModel):
    run: str
    model: str
    setting: str
    protocol: str
    recall: float | None
    tokens: int
    cost: float | None = None


class AgreementPair(BaseModel):
    """Two judgings' per-sample recall on one run (same samples, in order), for the agreement
    scatter. A judging is named `judge (protocol)`."""

    run: str
    judging_a: str
    judging_b: str
    a: list[float]
    b: list[float]


class ReportData(BaseModel):
    cells: list[Cell] = Field(default_factory=list)
    samples: list[SampleView] = Field(default_factory=list)
    costs: list[CostPoint] = Field(default_factory=list)
    agreement: list[AgreementPair] = Field(default_factory=list)
    manifest: list[dict[str, Any]] = Field(default_factory=list)
    package_version: str = __version__


def setting_label(config_setting: str, persona: str, text_only: bool) -> str:
    """The setting as the paper's tables name it, with any ablation spelt out."""
    label = SETTING_LABELS.get(config_setting, config_setting)
    if text_only:
        label += " (text only)"
    if persona not in ("emotion", ""):
        label += f" [persona: {persona}]"
    return label


def collect(
    runs: list[str] | None = None,
    *,
    data: Path | None = None,
    workspace: Path | None = None,
    images: Path | None = None,
    policy: ScorePolicy | None = None,
    samples: bool = True,
) -> ReportData:
    """Everything a report shows about `runs` (when None, all judged runs but those holding a
    labelled set's answers)."""
    policy = policy or ScorePolicy()
    report = ReportData()
    with Store.open(workspace, create=False) as store:
        infos = {i.name: i for i in store.runs()}
        names = runs or [n for n, i in infos.items()
                         if i.config.setting != LABELLED and store.judgings(n)]  # fmt: skip
        if not names:
            raise EIBenchError("no judged runs to report: run `eibench judge` first")
        for name in names:
            info = infos.get(name)
            if info is None:
                raise EIBenchError(f"no run named {name!r}")
            records = RunRecords.read(store, name, data)
            scores = score_records(records, policy=policy)
            config = info.config
            setting = setting_label(config.setting, config.persona, config.text_only)
            release_judging = {
                (j.judge, j.protocol): bool(j.settings.get("paper_sampling"))
                for j in records.judgings
            }
            for score in scores.scores:
                for row in score.rows:
                    category = COMPLEX if config.split == "complex" else row.label
                    report.cells.append(
                        Cell(
                            model=config.model, setting=setting, split=config.split,
                            category=category, protocol=score.protocol, judge=score.judge,
                            estimate=row.recall.estimate, low=row.recall.low,
                            high=row.recall.high, n=row.n_scored, run=name,
                            rules=score.policy.rules, profile=config.params.profile or "",
                            release_judging=release_judging[(score.judge, score.protocol)],
                        )
                    )  # fmt: skip
                tokens = info.usage.input_tokens + info.usage.output_tokens
                report.costs.append(
                    CostPoint(
                        run=name, model=config.model, setting=setting, protocol=score.protocol,
                        recall=score.rows[-1].recall.estimate, tokens=tokens,
                    )
                )  # fmt: skip
            report.manifest.append(
                {
                    "run": name,
                    "config": config.model_dump(mode="json"),
                    "judgings": [j.model_dump(mode="json") for j in records.judgings],
                    "counts": info.counts,
                    "usage": info.usage.model_dump(),
                }
            )
            if samples:
                report.samples += _samples(records, images, policy, setting)
            report.agreement += _agreement(records, policy)
    return report


def _samples(
    records: RunRecords,
    images: Path | None,
    policy: ScorePolicy,
    setting: str,
) -> list[SampleView]:
    """The run's samples with every judging's verdict; the first judging's (the one tables lead
    with) also marks the triggers with evidence and gives the recall the browser filters on."""
    from eibench.report.thumbnails import thumbnail

    run, config = records.name, records.config
    first = records.judgings[0] if records.judgings else None
    judged = records.judged[(first.judge, first.protocol)] if first else {}
    views = []
    for sample in records.dataset.samples:
        generation = records.generations.get(sample.id)
        if generation is None:
            continue
        judgment = judged.get(sample.id)
        verdict = judgment.verdict if judgment else None
        evidence = {t.index: t for t in verdict.triggers} if verdict else {}
        triggers = [
            TriggerView(
                text=text,
                covered=evidence[i].covered if i in evidence else None,
                evidence=evidence[i].evidence if i in evidence else None,
            )
            for i, text in enumerate(sample.triggers, 1)
        ]
        status = generation.status if generation.status != "ok" else (
            judgment.status if judgment else "unjudged"
        )  # fmt: skip
        views.append(
            SampleView(
                run=run, model=config.model, setting=setting, split=config.split,
                sample_id=sample.id, image=sample.image,
                category=COMPLEX if config.split == "complex" else (
                    CATEGORY_LABELS.get(sample.emotion, sample.emotion)
                ),
                question=sample.question, answer=generation.clean, status=status,
                judge=first.judge if first else "", protocol=first.protocol if first else "",
                recall=sample_value(judgment, policy) if judgment else None,
                triggers=triggers,
                verdicts=[
                    _verdict(j, records.judged[(j.judge, j.protocol)].get(sample.id),
                             len(sample.triggers), policy)
                    for j in records.judgings
                ],
                thumbnail=thumbnail(images, sample.image) if images is not None else None,
            )
        )  # fmt: skip
    return views


def _verdict(
    judging: JudgingConfig, judgment: Judgment | None, n_triggers: int, policy: ScorePolicy
) -> VerdictView:
    """What `judging` made of one answer: status, recall and its per-trigger marks, if any."""
    verdict = judgment.verdict if judgment else None
    marks = {t.index: t.covered for t in verdict.triggers} if verdict else {}
    return VerdictView(
        judge=judging.judge, protocol=judging.protocol,
        status=judgment.status if judgment else "unjudged",
        recall=sample_value(judgment, policy) if judgment else None,
        covered=[marks.get(i) for i in range(1, n_triggers + 1)] if marks else None,
    )  # fmt: skip


def _agreement(records: RunRecords, policy: ScorePolicy) -> list[AgreementPair]:
    """Per-sample recall of every two judgings of the run, on the samples both scored."""
    values = {
        key: {s: v for s, x in current.items() if (v := sample_value(x, policy)) is not None}
        for key, current in records.judged.items()
    }
    pairs = []
    keys = list(values)
    for i, key_a in enumerate(keys):
        for key_b in keys[i + 1 :]:
            a, b = values[key_a], values[key_b]
            shared = sorted(set(a) & set(b))
            pairs.append(
                AgreementPair(
                    run=records.name, judging_a=f"{key_a[0]} ({key_a[1]})",
                    judging_b=f"{key_b[0]} ({key_b[1]})",
                    a=[a[s] for s in shared], b=[b[s] for s in shared],
                )
            )  # fmt: skip
    return pairs


class TableRow(BaseModel):
    """One row of a rendered table: a model in a setting block, its cells already formatted."""

    block: str = Field(description="the setting block the row belongs to")
    label: str = Field(description="the model")
    cells: list[str]
    bold: list[bool] = Field(description="per cell: best in its block")
    published: bool = False


class TableView(BaseModel):
    """A table in the paper's layout, ready for any format."""

    title: str
    columns: list[str] = Field(description="headers of `cells` (the model column excluded)")
    rows: list[TableRow]
    note: str = ""
