"""Answer benchmark samples with a model: concurrent, resumable, cached and accounted.

Every answer (or its typed failure) is committed to the store the moment it arrives, so an
interrupted run loses at most the calls in flight, and re-running the same command does only
what is missing (and, with `retry_failed`, what failed).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eibench.data.images import resolve_image
from eibench.data.schema import Sample
from eibench.data.triggers import numbered
from eibench.errors import EIBenchError
from eibench.models.base import ChatModel, ChatRequest, GenerationParams, ModelCallError, Usage
from eibench.models.clean import clean_text
from eibench.models.endpoint import cache_identity
from eibench.models.images import image_part
from eibench.runner.calls import CachedCaller
from eibench.runner.engine import JobOptions, Outcome, StageRun, Tally, run_stage
from eibench.runner.progress import OnProgress
from eibench.settings import Setting, caption_messages
from eibench.settings.prompts import version
from eibench.store import Generation, RunConfig, Store
from eibench.store.locks import writer_lock

if TYPE_CHECKING:
    from eibench.cfsa.pipeline import Pipeline  # imported where used: only cfsa runs need it


@dataclass
class Job:
    """What to run: the samples of one run, how to build their prompts, and which models."""

    run: str
    config: RunConfig
    setting: Setting
    samples: list[Sample]
    model: ChatModel
    images: Path | None = None
    captioner: ChatModel | None = None
    cfsa_llm: ChatModel | None = None  # cfsa: the text model (default: the model)
    options: JobOptions = field(default_factory=JobOptions)


Summary = Tally  # what one `generate` did


@dataclass
class _State:
    """The generation stage of one invocation: the job, its model caller, and the captioning
    call of each image."""

    job: Job
    caller: CachedCaller
    store: Store
    captions: dict[str, asyncio.Task[str]] = field(default_factory=dict)
    cfsa: Pipeline | None = None

    async def work(self, sample: Sample) -> Generation:
        return await _answer(self, sample)

    def error_kind(self, generation: Generation) -> str | None:
        return generation.error_kind

    def commit(self, generation: Generation) -> Outcome:
        if not self.store.put_generation(generation):  # an answer arrived meanwhile (import)
            return Outcome(kept=1)
        ok = generation.status == "ok"
        usage = Usage() if generation.cached else generation.usage
        return Outcome(ok=int(ok), failed=int(not ok), cached=int(generation.cached), usage=usage)

    async def aclose(self) -> None:
        job = self.job
        await job.model.aclose()
        for extra in (job.captioner, job.cfsa_llm):
            if extra is not None and extra is not job.model:
                await extra.aclose()


def _caption_params(job: Job, captioner: ChatModel) -> GenerationParams:
    """The run's params, except that a generation profile is the model's, not another
    captioner's: that one gets eibench's defaults."""
    params = job.config.params
    if params.profile is not None and captioner is not job.model:
        return GenerationParams()
    return params


def _caption_key(job: Job, captioner: ChatModel, image: str) -> str:
    """Captions are shared by the runs of a captioner (at one endpoint, as the call cache
    keys it); under a profile, by its runs only."""
    who = cache_identity(captioner)
    blob = f"{who}\x00{image}\x00{version('captioner')}\x00{job.config.max_image_side}"
    profile = _caption_params(job, captioner).profile
    if profile is not None:
        blob += f"\x00{profile}"
    return hashlib.sha256(blob.encode()).hexdigest()


def _needs_images(job: Job) -> bool:
    return job.model.spec != "prior" and (job.setting.sends_image or job.setting.needs_caption)


_FIRST_IMAGES = 5


def check_images(job: Job, remaining: list[Sample]) -> None:
    """Pre-flight for a job that sends images: the image root is a folder that holds at least
    one of the first images to do. (One missing image fails its sample; a root holding none
    of them is the wrong folder, and would fail every sample.)"""
    if not remaining or not _needs_images(job):
        return
    root = job.images
    assert root is not None
    if not root.is_dir():
        raise EIBenchError(f"--images {root}: {'not a' if root.exists() else 'no such'} folder")
    first = list(dict.fromkeys(s.image for s in remaining[:_FIRST_IMAGES]))
    for key in first:
        try:
            if resolve_image(root, key).is_file():
                return
        except EIBenchError:
            continue
    raise EIBenchError(
        f"--images {root} holds none of the first {len(first)} image(s) to do (such as "
        f"{root / first[0]}): point --images at the folder that holds the release's image "
        "keys (EmoSet-118k/..., CAER-S/...)"
    )


async def _caption(state: _State, captioner: ChatModel, image: str) -> str:
    """The image's caption: stored, being written for another sample, or written now."""
    if image not in state.captions:
        state.captions[image] = asyncio.ensure_future(_write_caption(state, captioner, image))
    return await asyncio.shield(state.captions[image])


async def _write_caption(state: _State, captioner: ChatModel, image: str) -> str:
    job = state.job
    key = _caption_key(job, captioner, image)
    stored = state.store.caption(key)
    if stored is not None:
        return stored
    assert job.images is not None
    part = image_part(job.images, image, job.config.max_image_side)
    request = ChatRequest(messages=caption_messages(part), params=_caption_params(job, captioner))
    text = clean_text((await state.caller.call(captioner, request)).response.text)
    state.store.put_caption(key, captioner.spec, image, text)
    return text


def _failed(
    job: Job, sample: Sample, kind: str, message: str, attempts: int = 0, prompt: str = ""
) -> Generation:
    return Generation(
        run=job.run,
        sample_id=sample.id,
        image=sample.image,
        status="failed",
        prompt=prompt,
        attempts=attempts,
        error_kind=kind,
        error_message=message,
    )


async def _answer_cfsa(state: _State, pipeline: Pipeline, sample: Sample) -> Generation:
    """CFSA as an inference method: stages 1-4 with the model as the VLM; the trigger list is
    the answer, and every stage is stored under the run's sample."""
    from eibench.cfsa.pipeline import StageFailed

    job = state.job
    prompt = f"CFSA pipeline ({pipeline.version}): {sample.question}"
    try:
        result = await pipeline.run(
            f"run:{job.run}:{sample.id}", sample.image, sample.emotion, sample.question
        )
    except StageFailed as exc:
        return _failed(job, sample, exc.kind, str(exc), exc.attempts, prompt)
    except EIBenchError as exc:
        return _failed(job, sample, "input", str(exc), prompt=prompt)
    if not result.triggers:
        return _failed(job, sample, "no_triggers", "the summary held no trigger list", 1, prompt)
    text = numbered(result.triggers)
    return Generation(
        run=job.run,
        sample_id=sample.id,
        image=sample.image,
        status="ok",
        raw=text,
        clean=text,
        prompt=prompt,
        usage=result.usage,
        attempts=1,
    )


async def _answer(state: _State, sample: Sample) -> Generation:
    job = state.job
    if state.cfsa is not None:
        return await _answer_cfsa(state, state.cfsa, sample)
    caption = None
    try:
        if job.setting.needs_caption:
            caption = await _caption(state, job.captioner or job.model, sample.image)
        image = None
        if _needs_images(job) and job.setting.sends_image:
            assert job.images is not None
            image = image_part(job.images, sample.image, job.config.max_image_side)
        messages = job.setting.messages(sample, image, caption)
    except EIBenchError as exc:  # an unreadable image fails this sample, not the run
        return _failed(job, sample, "input", str(exc))
    except ModelCallError as exc:
        return _failed(job, sample, f"caption_{exc.kind}", str(exc), exc.attempts)
    prompt = "\n".join(m.plain_text() for m in messages)
    request = ChatRequest(
        messages=messages,
        params=job.config.params,
        context={"sample_id": sample.id, "split": sample.split, "emotion": sample.emotion},
    )
    try:
        called = await state.caller.call(job.model, request)
    except ModelCallError as exc:
        return _failed(job, sample, exc.kind, str(exc), exc.attempts, prompt)
    return Generation(
        run=job.run,
        sample_id=sample.id,
        image=sample.image,
        status="ok",
        raw=called.response.text,
        clean=clean_text(called.response.text),
        prompt=prompt,
        usage=called.response.usage,
        latency=called.latency,
        attempts=called.attempts,
        cached=called.cached,
    )


def _stage(job: Job, store: Store, caller: CachedCaller) -> _State:
    state = _State(job, caller, store)
    if job.setting.name == "cfsa":
        from eibench.cfsa.pipeline import CFSAModels, CFSAOptions, Pipeline

        models = CFSAModels(job.model, job.cfsa_llm or job.model, job.config.params)
        options = CFSAOptions(max_image_side=job.config.max_image_side)
        state.cfsa = Pipeline(store, caller, models, options, job.images)
    return state


def todo(job: Job, store: Store) -> list[Sample]:
    """The job's samples that still need an answer."""
    statuses = store.statuses(job.run)
    return [
        s
        for s in job.samples
        if statuses.get(s.id) is None or (job.options.retry_failed and statuses[s.id] == "failed")
    ]


def generate(job: Job, store: Store, on_progress: OnProgress | None = None) -> Summary:
    """Run `job` to completion against `store`, reporting to `on_progress` if given."""
    if _needs_images(job) and job.images is None:
        raise EIBenchError(
            f"the {job.setting.name} setting sends the image: pass --images ROOT "
            "(or use --text-only with the caption setting and a captioner that has the images)"
        )
    job.options.check()
    with writer_lock(store.workspace, "run", job.run):
        if store.run_config(job.run) is not None:
            store.ensure_run(job.run, job.config)  # a different configuration: refused first
        remaining = todo(job, store)
        check_images(job, remaining)
        tally = Tally(selected=len(job.samples), skipped=len(job.samples) - len(remaining))
        work = StageRun(
            job.run,
            remaining,
            lambda caller: _stage(job, store, caller),
            models=[m for m in (job.model, job.captioner, job.cfsa_llm) if m is not None],
            start=lambda: store.ensure_run(job.run, job.config),  # once the pre-flight passed
        )
        run_stage(work, store, job.options, tally, on_progress)
    statuses = store.statuses(job.run)
    tally.failed_total = sum(statuses.get(s.id) == "failed" for s in job.samples)
    return tally
