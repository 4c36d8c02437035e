"""`annotate`: CFSA over a folder of images, into a batch of draft annotations in the store.

Items come from a list file or a glob under the image root; each gets an emotion (given, or
from its folder) and optionally a user question (from a `{image: question}` JSONL file). Items
run concurrently; every stage is stored as it returns, so an interrupted batch resumes with the
same command and redoes nothing that finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from eibench.cfsa.pipeline import CFSAModels, CFSAOptions, Pipeline, StageFailed
from eibench.data.files import iter_jsonl, read_text, split_lines
from eibench.data.images import ImageError, key_problem
from eibench.data.schema import emotion_of
from eibench.errors import DataError, EIBenchError
from eibench.models.base import ChatModel, GenerationParams
from eibench.models.registry import ModelOptions, load_model, parse_spec
from eibench.records.annotation import Annotation, annotation_id
from eibench.runner.calls import CachedCaller
from eibench.runner.engine import JobRequest, Outcome, StageRun, Tally, run_stage
from eibench.runner.progress import OnProgress
from eibench.store import Store
from eibench.store.annotations import annotation_statuses, put_annotations
from eibench.store.locks import writer_lock

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")


@dataclass(frozen=True)
class Item:
    image: str
    emotion: str
    question: str | None

    @property
    def id(self) -> str:
        return annotation_id(self.image, self.emotion, self.question)


class AnnotateRequest(JobRequest):
    """Everything `eibench annotate` takes."""

    images: Path
    list_file: Path | None = None
    glob: str | None = None
    emotion: str | None = None
    emotion_from_path: bool = False
    question_from: Path | None = None
    vlm: str
    llm: str
    vlm_options: ModelOptions = ModelOptions()
    llm_options: ModelOptions = ModelOptions()
    batch: str = "cfsa"
    workspace: Path | None = None
    limit: int | None = None
    params: GenerationParams = GenerationParams()
    general_questions: list[str] | None = None
    scenario_questions: int = 4
    extra_rounds: int = 0
    verify: bool = False
    max_image_side: int | None = None
    encoder: bool = Field(False, description="load MiniLM for dedupe by meaning and novelty")

    @property
    def timeout(self) -> float:
        """Seconds for one whole model call: the longer of the two models' timeouts."""
        return max(self.vlm_options.timeout, self.llm_options.timeout)


AnnotateSummary = Tally  # what one `annotate` did


def collect_items(request: AnnotateRequest) -> list[Item]:
    """The items to annotate, in a stable order; bad input is a one-line error."""
    root = request.images
    if not root.is_dir():
        raise EIBenchError(f"{root}: the image root is not a folder")
    if (request.emotion is None) == (not request.emotion_from_path):
        raise EIBenchError("pass --emotion E or --emotion-from-path (one of them)")
    if request.list_file is not None:
        keys = []
        for number, line in enumerate(split_lines(read_text(request.list_file)), 1):
            key = line.strip()
            if not key or key.startswith("#"):
                continue
            problem = key_problem(key)
            if problem:
                raise DataError(request.list_file, problem, line=number, key=key)
            if not (root / key).is_file():
                raise DataError(
                    request.list_file, f"no such image under {root}", line=number, key=key
                )
            keys.append(key)
    else:
        pattern = request.glob or "**/*"
        keys = sorted(
            p.relative_to(root).as_posix()
            for p in root.glob(pattern)
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
    keys = list(dict.fromkeys(keys))
    questions = _questions(request.question_from, set(keys)) if request.question_from else {}
    items = [
        Item(
            image=key,
            emotion=request.emotion or emotion_of("basic", key),
            question=questions.get(key),
        )
        for key in keys
    ]
    if not items:
        raise EIBenchError(f"no images to annotate under {root}")
    return items[: request.limit] if request.limit else items


def _questions(path: Path, images: set[str]) -> dict[str, str]:
    """The `{image: question}` lines of `path`: each key a safe key of one of `images`, given
    once, with a non-empty string question."""
    found: dict[str, tuple[str, int]] = {}
    for number, pairs in iter_jsonl(path):
        for image, question in pairs:
            problem = key_problem(image)
            if problem is None and image in found:
                problem = f"duplicate question (first on line {found[image][1]})"
            elif problem is None and image not in images:
                problem = "not among the images to annotate"
            elif problem is None and (not isinstance(question, str) or not question.strip()):
                problem = "a question must be a non-empty string"
            if problem:
                raise DataError(path, problem, line=number, key=image)
            found[image] = (question.strip(), number)
    return {image: question for image, (question, _) in found.items()}


def annotate(request: AnnotateRequest, on_progress: OnProgress | None = None) -> AnnotateSummary:
    """Annotate the request's items that are not done yet (and failed ones with retry)."""
    parse_spec(request.vlm)
    parse_spec(request.llm)
    request.job_options(request.timeout).check()
    items = collect_items(request)
    with (
        Store.open(request.workspace) as store,
        writer_lock(store.workspace, "annotation batch", request.batch),
    ):
        statuses = annotation_statuses(store, request.batch)
        todo = [
            i for i in items
            if statuses.get(i.id) is None or (request.retry_failed and statuses[i.id] == "failed")
        ]  # fmt: skip
        summary = Tally(selected=len(items), skipped=len(items) - len(todo))
        if todo:
            vlm = load_model(request.vlm, request.vlm_options)
            same = request.llm == request.vlm
            llm = vlm if same else load_model(request.llm, request.llm_options)
            work = StageRun(
                f"annotate {request.batch}",
                todo,
                lambda caller: _stage(request, store, caller, vlm, llm),
                models=[vlm, llm],
            )
            run_stage(work, store, request.job_options(request.timeout), summary, on_progress)
    return summary


def _stage(
    request: AnnotateRequest, store: Store, caller: CachedCaller, vlm: ChatModel, llm: ChatModel
) -> _Annotating:
    encoder = None
    if request.encoder:
        from eibench.embed import load_encoder

        encoder = load_encoder()
    options = CFSAOptions(
        general_questions=tuple(request.general_questions or CFSAOptions().general_questions),
        scenario_questions=request.scenario_questions,
        extra_rounds=request.extra_rounds,
        verify=request.verify,
        max_image_side=request.max_image_side,
    )
    models = CFSAModels(vlm, llm, request.params, encoder)
    return _Annotating(request, store, Pipeline(store, caller, models, options, request.images))


@dataclass
class _Annotating:
    """The stage: CFSA over one image, its draft annotation stored."""

    request: AnnotateRequest
    store: Store
    pipeline: Pipeline

    async def work(self, item: Item) -> Annotation:
        return await annotate_item(self.pipeline, self.request, item)

    def error_kind(self, annotation: Annotation) -> str | None:
        return annotation.error_kind

    def commit(self, annotation: Annotation) -> Outcome:
        put_annotations(self.store, [annotation])
        ok = annotation.status == "draft"
        return Outcome(ok=int(ok), failed=int(not ok), usage=annotation.usage)

    async def aclose(self) -> None:
        vlm, llm = self.pipeline.models.vlm, self.pipeline.models.llm
        await vlm.aclose()
        if llm is not vlm:
            await llm.aclose()


async def annotate_item(pipeline: Pipeline, request: AnnotateRequest, item: Item) -> Annotation:
    base = Annotation(
        batch=request.batch, id=item.id, image=item.image, emotion=item.emotion,
        question=item.question, question_given=item.question is not None,
        vlm=request.vlm, llm=request.llm, prompt_version=pipeline.version,
    )  # fmt: skip
    try:
        result = await pipeline.run(f"annotate:{request.batch}:{item.id}", item.image, item.emotion,
                                    item.question)  # fmt: skip
    except StageFailed as exc:
        return base.model_copy(
            update={"status": "failed", "error_kind": exc.kind, "error_message": str(exc)}
        )
    except ImageError as exc:
        return base.model_copy(
            update={"status": "failed", "error_kind": "input", "error_message": str(exc)}
        )
    update: dict[str, object] = {
        "question": result.question, "reconstruction": result.reconstruction,
        "triggers": result.triggers, "unsupported": result.unsupported, "usage": result.usage,
    }  # fmt: skip
    if not result.triggers:
        update |= {"status": "failed", "error_kind": "no_triggers",
                   "error_message": "the summary held no trigger list"}  # fmt: skip
    return base.model_copy(update=update)
