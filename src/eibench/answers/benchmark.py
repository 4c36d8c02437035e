"""`run_benchmark`: one model answers one split under one setting, into the run store."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from eibench.answers.generate import Job, Summary, generate
from eibench.data import load_split, resolve_data_dir
from eibench.data.schema import Split
from eibench.errors import EIBenchError
from eibench.models.base import GenerationParams
from eibench.models.registry import ModelOptions, load_model, parse_spec
from eibench.profiles import Profile, load_profile
from eibench.runner.engine import JobRequest
from eibench.runner.progress import OnProgress
from eibench.runner.select import select_samples
from eibench.settings import PERSONAS, Setting
from eibench.settings.build import SettingName
from eibench.slugs import slug
from eibench.store import RunConfig, Store
from eibench.version import __version__


class RunRequest(JobRequest):
    """Everything `eibench run` takes; also what an experiment grid builds for each cell."""

    model: str = "prior"
    split: Split = "basic"
    setting: SettingName = "user"
    persona: str = "emotion"
    text_only: bool = False
    captioner: str | None = None
    cfsa_llm: str | None = Field(None, description="cfsa: the text model (default: the model)")
    run: str | None = Field(None, description="run name; default from model, split, setting")
    profile: str | None = Field(
        None,
        description="generation profile: the release's decoding settings, prompt and message "
        "layout for the model; `params` may then set only the seed",
    )
    data: Path | None = None
    images: Path | None = None
    workspace: Path | None = None
    params: GenerationParams = GenerationParams()
    options: ModelOptions = ModelOptions()
    captioner_options: ModelOptions | None = None
    limit: int | None = None
    sample_ids: list[str] = Field(default_factory=list)
    subset: int | None = None
    subset_seed: int = 0
    max_image_side: int | None = None

    def run_name(self) -> str:
        if self.run:
            return self.run
        parts = [self.model, self.split, self.setting]
        if self.persona != "emotion":
            parts.append(self.persona)
        if self.text_only:
            parts.append("text-only")
        if self.profile:
            parts.append(self.profile)
        return slug("-".join(parts))


def _check_profile(request: RunRequest) -> Profile | None:
    """The request's profile, or None; options that the profile decides are refused."""
    if request.profile is None:
        return None
    profile = load_profile(request.profile)
    given = [
        name
        for name, value in request.params.model_dump(exclude={"seed"}).items()
        if value != GenerationParams.model_fields[name].default
    ]
    if given:
        raise EIBenchError(
            f"profile {request.profile} sets the generation parameters; beside it params may "
            f"set only the seed (drop {', '.join(given)})"
        )
    if request.persona != "emotion" or request.text_only:
        what = "--text-only" if request.text_only else f"--persona {request.persona}"
        raise EIBenchError(f"profile {request.profile} sets the prompt: drop {what}")
    profile.presentation(request.split, request.setting)  # the setting must have a prompt
    return profile


def _check(request: RunRequest) -> Profile | None:
    """Refuse option combinations that cannot work, before anything is loaded; the request's
    generation profile, if it names one."""
    parse_spec(request.model)
    if request.captioner:
        parse_spec(request.captioner)
    if request.persona not in PERSONAS:
        raise EIBenchError(f"unknown persona {request.persona!r} (one of {', '.join(PERSONAS)})")
    if request.cfsa_llm:
        if request.setting != "cfsa":
            raise EIBenchError("--cfsa-llm goes with --setting cfsa")
        parse_spec(request.cfsa_llm)
    if request.text_only and request.setting == "cfsa":
        raise EIBenchError("--text-only goes with the user, cot and caption settings, not cfsa")
    return _check_profile(request)


def run_benchmark(
    request: RunRequest, on_progress: OnProgress | None = None
) -> tuple[str, Summary]:
    """Answer the chosen samples, resuming whatever the store already has. Returns the run
    name and what this invocation did."""
    profile = _check(request)
    dataset = load_split(resolve_data_dir(request.data), request.split)
    samples = select_samples(
        dataset.samples,
        limit=request.limit,
        sample_ids=request.sample_ids,
        subset=request.subset,
        seed=request.subset_seed,
    )
    setting = Setting(
        name=request.setting,
        persona=request.persona,
        text_only=request.text_only,
        presentation=profile.presentation(request.split, request.setting) if profile else None,
    )
    params = profile.generation_params(request.params.seed) if profile else request.params
    captioner_spec = request.captioner or (request.model if setting.needs_caption else None)
    config = RunConfig(
        model=request.model,
        split=request.split,
        setting=request.setting,
        persona=request.persona,
        text_only=request.text_only,
        captioner=captioner_spec,
        params=params,
        max_image_side=request.max_image_side,
        prompt_version=setting.prompt_version(),
        dataset=dataset.fingerprint,
        package_version=__version__,
        extra={"cfsa_llm": request.cfsa_llm or request.model} if request.setting == "cfsa" else {},
    )
    model = load_model(request.model, request.options, dataset.samples)
    cfsa_llm = None
    if request.cfsa_llm and request.cfsa_llm != request.model:
        cfsa_llm = load_model(request.cfsa_llm, request.captioner_options or request.options)
    captioner = None
    if setting.needs_caption and request.captioner and request.captioner != request.model:
        captioner = load_model(request.captioner, request.captioner_options or request.options)
    job = Job(
        run=request.run_name(),
        config=config,
        setting=setting,
        samples=samples,
        model=model,
        images=request.images,
        captioner=captioner,
        cfsa_llm=cfsa_llm,
        options=request.job_options(request.options.timeout),
    )
    with Store.open(request.workspace) as store:
        summary = generate(job, store, on_progress)
    return job.run, summary
