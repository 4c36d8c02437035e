"""`eibench run`: answer the benchmark with a model under one of the paper's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.answers.benchmark import RunRequest, run_benchmark
from eibench.answers.generate import Summary
from eibench.cli.console import ProgressBar, err, out
from eibench.cli.options import (
    AdaptiveOption,
    ConcurrencyOption,
    DataOption,
    ImagesOption,
    MaxAttemptsOption,
    NoCacheOption,
    RetryFailedOption,
    TimeoutOption,
    WorkspaceOption,
    checked_base_urls,
)
from eibench.data.schema import Split
from eibench.errors import EIBenchError
from eibench.models.base import GenerationParams
from eibench.models.registry import ModelOptions
from eibench.profiles import profile_names
from eibench.runner.failures import group_failures
from eibench.settings.kinds import SettingName
from eibench.settings.prompts import PersonaName
from eibench.store import Generation, Store

MODEL_PANEL = "Model"
SAMPLES_PANEL = "Samples"


def _ids(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def run(
    model: Annotated[
        str,
        typer.Option(
            help="openai:MODEL, anthropic:MODEL, hf:ID_OR_DIR, or prior (offline baseline).",
            rich_help_panel=MODEL_PANEL,
        ),
    ] = "prior",
    split: Annotated[Split, typer.Option(help="Benchmark split.")] = "basic",
    setting: Annotated[
        SettingName,
        typer.Option(
            help="user: the question; cot: + step by step; caption: + a caption; cfsa: the "
            "CFSA pipeline (self-ask stages, then a trigger list) with the model as the VLM."
        ),
    ] = "user",
    persona: Annotated[
        PersonaName, typer.Option(help="Persona prefix of the prompt (the paper's: emotion).")
    ] = "emotion",
    text_only: Annotated[
        bool,
        typer.Option(
            "--text-only",
            help="Send no image: a blind baseline (user, cot), or caption + question (caption).",
        ),
    ] = False,
    captioner: Annotated[
        str | None,
        typer.Option(
            help="Model spec that writes captions (default: the model).", show_default=False
        ),
    ] = None,
    cfsa_llm: Annotated[
        str | None,
        typer.Option(
            help="cfsa setting: the text model for the question and summary stages (default: "
            "the model).",
            show_default=False,
        ),
    ] = None,
    run_name: Annotated[
        str | None,
        typer.Option("--run", help="Run name (default: model-split-setting).", show_default=False),
    ] = None,
    data: DataOption = None,
    images: ImagesOption = None,
    workspace: WorkspaceOption = None,
    base_url: Annotated[
        list[str] | None,
        typer.Option(
            "--base-url",
            help="OpenAI-compatible server URL; repeat to spread calls over replicas.",
            rich_help_panel=MODEL_PANEL,
            show_default=False,
            callback=checked_base_urls,
        ),
    ] = None,
    cache_as: Annotated[
        str | None,
        typer.Option(
            "--cache-as",
            help="Cache answers under this endpoint NAME instead of the --base-url servers, "
            "so that servers of the same model share answers ('default': as the backend's "
            "default endpoint). Cached answers are kept per endpoint: the sorted set of base "
            "URLs, or none at the backend's default (api.openai.com, api.anthropic.com); hf: "
            "per model path.",
            rich_help_panel=MODEL_PANEL,
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Generation profile: the release's decoding settings, prompt wording and "
            f"message layout for the model ({', '.join(profile_names())}). It sets "
            "--temperature, --max-tokens, --top-p and the prompt, so those (and --persona, "
            "--text-only) are refused beside it; --seed is kept. Recorded as NAME@VERSION.",
            rich_help_panel=MODEL_PANEL,
            show_default=False,
        ),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(help="Default 0 (greedy).", rich_help_panel=MODEL_PANEL, show_default=False),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(help="Default 512.", rich_help_panel=MODEL_PANEL, show_default=False),
    ] = None,
    top_p: Annotated[
        float | None, typer.Option(rich_help_panel=MODEL_PANEL, show_default=False)
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Generation seed where the backend takes one; also seeds --subset.",
            rich_help_panel=MODEL_PANEL,
            show_default=False,
        ),
    ] = None,
    max_image_side: Annotated[
        int | None,
        typer.Option(
            help="Downscale images to this many pixels on the long side.", show_default=False
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            help="hf: cpu, cuda, cuda:1, mps.", rich_help_panel=MODEL_PANEL, show_default=False
        ),
    ] = None,
    device_map: Annotated[
        str | None,
        typer.Option(
            help="hf: 'auto' to spread a large model over GPUs.",
            rich_help_panel=MODEL_PANEL,
            show_default=False,
        ),
    ] = None,
    dtype: Annotated[
        str, typer.Option(help="hf: auto, float32, float16, bfloat16.", rich_help_panel=MODEL_PANEL)
    ] = "auto",
    batch_size: Annotated[
        int, typer.Option(help="hf: batch size.", rich_help_panel=MODEL_PANEL)
    ] = 8,
    limit: Annotated[
        int | None,
        typer.Option(
            help="Only the first N samples.",
            min=1,
            rich_help_panel=SAMPLES_PANEL,
            show_default=False,
        ),
    ] = None,
    sample_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--sample-ids",
            help="Only these sample ids (comma-separated or repeated).",
            rich_help_panel=SAMPLES_PANEL,
            show_default=False,
        ),
    ] = None,
    subset: Annotated[
        int | None,
        typer.Option(
            help="A seeded sample of N, stratified by emotion.",
            min=1,
            rich_help_panel=SAMPLES_PANEL,
            show_default=False,
        ),
    ] = None,
    concurrency: ConcurrencyOption = 8,
    adaptive: AdaptiveOption = False,
    timeout: TimeoutOption = 120.0,
    max_attempts: MaxAttemptsOption = 5,
    retry_failed: RetryFailedOption = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Answer the benchmark with a model. Re-run the same command to resume: only what is
    missing is done (and what failed, with --retry-failed)."""
    from eibench.runner.cost import prices

    sampling = {"temperature": temperature, "max_tokens": max_tokens, "top_p": top_p}
    given = {name: value for name, value in sampling.items() if value is not None}
    if profile is not None and given:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in given)
        raise EIBenchError(
            f"--profile {profile} sets the generation parameters: drop {flags} (or --profile)"
        )
    options = ModelOptions(
        base_urls=base_url or [],
        cache_as=cache_as,
        timeout=timeout,
        device=device,
        device_map=device_map,
        dtype=dtype,
        batch_size=batch_size,
    )
    request = RunRequest(
        model=model,
        split=split,
        setting=setting,
        persona=persona,
        text_only=text_only,
        captioner=captioner,
        cfsa_llm=cfsa_llm,
        run=run_name,
        profile=profile,
        data=data,
        images=images,
        workspace=workspace,
        params=GenerationParams(**given, seed=seed),
        options=options,
        concurrency=concurrency,
        adaptive=adaptive,
        max_attempts=max_attempts,
        limit=limit,
        sample_ids=_ids(sample_ids or []),
        subset=subset,
        subset_seed=seed or 0,
        max_image_side=max_image_side,
        retry_failed=retry_failed,
        use_cache=not no_cache,
        price=prices().get(model),
    )
    name, summary = run_benchmark(request, on_progress=ProgressBar())
    _report(name, summary, workspace)


def _report(name: str, summary: Summary, workspace: Path | None) -> None:
    """The run's tally as a table; a stop or any failed sample exits non-zero."""
    table = Table(title=f"run {escape(name)}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("samples", f"{summary.selected:,}")
    table.add_row("already done", f"{summary.skipped:,}")
    table.add_row("answered now", f"{summary.ok:,}")
    table.add_row("failed now", f"{summary.failed:,}")
    table.add_row("failed in all", f"{summary.failed_total:,}")
    table.add_row("from cache", f"{summary.cached:,}")
    table.add_row("requests", f"{summary.requests:,}")
    table.add_row(
        "tokens in / out", f"{summary.usage.input_tokens:,} / {summary.usage.output_tokens:,}"
    )
    if summary.cost is not None:
        table.add_row("cost", f"${summary.cost:,.4f}")
    table.add_row("seconds", f"{summary.seconds:.1f}")
    out.print(table)
    if summary.all_cached:
        sent_to = "; ".join(summary.endpoints) or "the model"
        message = f"all {summary.ok:,} answers came from the cache; nothing was sent to {sent_to}"
        out.print(escape(message), soft_wrap=True)
    if summary.stopped:
        raise EIBenchError(f"run {name!r} stopped: {summary.stopped}")
    if summary.failed_total:
        with Store.open(workspace) as store:
            failed = [g for g in store.generations(name) if g.status == "failed"]
        _report_failures(failed)
        raise typer.Exit(1)


def _report_failures(failed: list[Generation]) -> None:
    """Per failure kind: how many, one example message, and what to do (a retry only where a
    retry can help)."""
    err.print(f"[yellow]{len(failed)} sample(s) failed[/]:")
    for group in group_failures((g.error_kind, g.error_message) for g in failed):
        err.print(f"  {group.kind} {group.count}: {escape(group.example)}", soft_wrap=True)
        err.print(f"    {escape(group.advice)}", soft_wrap=True)
