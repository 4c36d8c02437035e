"""`eibench annotate` (CFSA over images, with `export` and `import`) and `eibench cfsa
mine-questions`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.cli.console import ProgressBar, err, out
from eibench.cli.options import (
    ConcurrencyOption,
    MaxAttemptsOption,
    NoCacheOption,
    RetryFailedOption,
    TimeoutOption,
    WorkspaceOption,
)
from eibench.errors import EIBenchError
from eibench.models.base import GenerationParams
from eibench.models.registry import ModelOptions

MODELS = "Models"
PIPELINE = "Pipeline"

annotate_app = typer.Typer(
    help="CFSA: annotate images with draft trigger lists (Coarse-to-Fine Self-Ask).",
    no_args_is_help=False,
)
cfsa_app = typer.Typer(help="CFSA tools.", no_args_is_help=True)

BatchOption = Annotated[str, typer.Option("--batch", help="Annotation batch name.")]
VlmUrlOption = Annotated[
    list[str] | None,
    typer.Option(
        help="Server of the VLM (overrides --base-url).",
        rich_help_panel=MODELS,
        show_default=False,
    ),
]
LlmUrlOption = Annotated[
    list[str] | None,
    typer.Option(
        help="Server of the LLM (overrides --base-url).",
        rich_help_panel=MODELS,
        show_default=False,
    ),
]


def _urls(specific: list[str] | None, shared: list[str] | None) -> list[str]:
    return list(specific or shared or [])


@annotate_app.callback(invoke_without_command=True)
def annotate(
    ctx: typer.Context,
    images: Annotated[Path | None, typer.Option(help="Image root.", show_default=False)] = None,
    list_file: Annotated[
        Path | None,
        typer.Option(
            "--list", help="File of image keys under the root, one per line.", show_default=False
        ),
    ] = None,
    glob: Annotated[
        str | None,
        typer.Option(help="Pattern under the root (default: every image).", show_default=False),
    ] = None,
    emotion: Annotated[
        str | None, typer.Option(help="The emotion of every image.", show_default=False)
    ] = None,
    emotion_from_path: Annotated[
        bool, typer.Option("--emotion-from-path", help="The emotion is the image's folder.")
    ] = False,
    question_from: Annotated[
        Path | None,
        typer.Option(
            help="User questions: {image: question} per line (as user.jsonl).", show_default=False
        ),
    ] = None,
    vlm: Annotated[
        str | None,
        typer.Option(help="Model that sees the image.", rich_help_panel=MODELS, show_default=False),
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            help="Text model for questions and the summary (default: the VLM).",
            rich_help_panel=MODELS,
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        list[str] | None,
        typer.Option(
            "--base-url", help="Server of both models.", rich_help_panel=MODELS, show_default=False
        ),
    ] = None,
    vlm_base_url: VlmUrlOption = None,
    llm_base_url: LlmUrlOption = None,
    batch: BatchOption = "cfsa",
    scenario_questions: Annotated[
        int, typer.Option(help="Scenario questions per round.", rich_help_panel=PIPELINE)
    ] = 4,
    extra_rounds: Annotated[
        int,
        typer.Option(
            help="Further scenario rounds while answers add information (embedding "
            "novelty; needs \\[semantic]).",
            rich_help_panel=PIPELINE,
        ),
    ] = 0,
    general_questions: Annotated[
        Path | None,
        typer.Option(
            help="General questions, one per line (default: the paper's four; see "
            "`eibench cfsa mine-questions`).",
            rich_help_panel=PIPELINE,
            show_default=False,
        ),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Ask the VLM whether the image supports each "
            "trigger; unsupported ones are flagged for review, never deleted.",
            rich_help_panel=PIPELINE,
        ),
    ] = False,
    dedupe_by_meaning: Annotated[
        bool,
        typer.Option(
            "--dedupe-by-meaning",
            help="Also merge triggers with the same meaning (MiniLM; needs \\[semantic]).",
            rich_help_panel=PIPELINE,
        ),
    ] = False,
    max_tokens: Annotated[int, typer.Option(rich_help_panel=MODELS)] = 512,
    limit: Annotated[
        int | None, typer.Option(help="Only the first N images.", show_default=False)
    ] = None,
    workspace: WorkspaceOption = None,
    concurrency: ConcurrencyOption = 8,
    timeout: TimeoutOption = 120.0,
    max_attempts: MaxAttemptsOption = 5,
    retry_failed: RetryFailedOption = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Annotate images with CFSA: question, general self-ask, scenario self-ask, summary and
    (optionally) verification. Every stage is stored; re-run the same command to resume."""
    if ctx.invoked_subcommand is not None:
        return
    from eibench.cfsa.annotate import AnnotateRequest
    from eibench.cfsa.annotate import annotate as run_annotate

    if images is None or vlm is None:
        raise EIBenchError("pass --images ROOT and --vlm SPEC (see eibench annotate --help)")
    questions = None
    if general_questions is not None:
        from eibench.data.files import read_text, split_lines

        questions = [q.strip() for q in split_lines(read_text(general_questions)) if q.strip()]
    request = AnnotateRequest(
        images=images, list_file=list_file, glob=glob, emotion=emotion,
        emotion_from_path=emotion_from_path, question_from=question_from, vlm=vlm,
        llm=llm or vlm,
        vlm_options=ModelOptions(base_urls=_urls(vlm_base_url, base_url), timeout=timeout),
        llm_options=ModelOptions(base_urls=_urls(llm_base_url, base_url), timeout=timeout),
        batch=batch,
        workspace=workspace, concurrency=concurrency, limit=limit,
        params=GenerationParams(max_tokens=max_tokens), general_questions=questions,
        scenario_questions=scenario_questions, extra_rounds=extra_rounds, verify=verify,
        max_attempts=max_attempts, retry_failed=retry_failed, use_cache=not no_cache,
        encoder=dedupe_by_meaning or extra_rounds > 0,
    )  # fmt: skip
    summary = run_annotate(request, on_progress=ProgressBar())
    table = Table(title=f"annotate {escape(batch)}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in (
        ("images", summary.selected), ("already done", summary.skipped),
        ("drafts now", summary.ok), ("failed now", summary.failed),
        ("requests", summary.requests),
    ):  # fmt: skip
        table.add_row(name, f"{value:,}")
    usage = summary.usage
    table.add_row("tokens in / out", f"{usage.input_tokens:,} / {usage.output_tokens:,}")
    table.add_row("seconds", f"{summary.seconds:.1f}")
    out.print(table)
    if summary.stopped:
        raise EIBenchError(f"annotating {batch!r} stopped: {summary.stopped}")
    if summary.failed:
        err.print("[yellow]some images failed[/]; re-run with --retry-failed")
        raise typer.Exit(1)


class AnnotationFormat(str, Enum):
    release = "release"
    jsonl = "jsonl"


@annotate_app.command("export")
def export(
    fmt: Annotated[
        AnnotationFormat,
        typer.Option(
            "--format",
            help="release: EI_Basic/ and EI_Complex/ files that load as "
            "a dataset; jsonl: every annotation with its stages and status.",
        ),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Folder (release) or file (jsonl).")],
    batch: BatchOption = "cfsa",
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="release: statuses to export (default draft and reviewed).", show_default=False
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Write a batch's annotations."""
    from eibench.cfsa.export import EXPORTED_STATUSES, export_jsonl, export_release
    from eibench.store import Store

    with Store.open(workspace) as store:
        if fmt is AnnotationFormat.jsonl:
            n = export_jsonl(store, batch, out_path)
            err.print(f"wrote {n:,} annotation(s) to {escape(str(out_path))}")
            return
        n_complex, n_basic = export_release(store, batch, out_path, status or EXPORTED_STATUSES)
    err.print(f"wrote {n_complex:,} complex and {n_basic:,} basic sample(s) to "
              f"{escape(str(out_path))}")  # fmt: skip
    if n_complex and not n_basic:
        err.print("[yellow]some images have several annotations: EI_Basic/ was not written[/]")


@annotate_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSONL from `eibench annotate export`.")],
    batch: Annotated[
        str | None, typer.Option(help="Import into this batch instead.", show_default=False)
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Bring annotations back (with their review status and stages)."""
    from eibench.cfsa.export import import_jsonl
    from eibench.store import Store

    with Store.open(workspace) as store:
        n = import_jsonl(store, file, batch)
    err.print(f"imported {n:,} annotation(s)")


@cfsa_app.command("mine-questions")
def mine_questions(
    images: Annotated[Path, typer.Option(help="Image root.")],
    llm: Annotated[str, typer.Option(help="Model that proposes questions (sees the image).")],
    k: Annotated[int, typer.Option("--k", help="How many questions to keep.")] = 4,
    glob: Annotated[str, typer.Option(help="Pattern under the root.")] = "**/*",
    sample: Annotated[int, typer.Option(help="Images to ask about (seeded sample).")] = 50,
    per_image: Annotated[int, typer.Option(help="Questions proposed per image.")] = 5,
    base_url: Annotated[list[str] | None, typer.Option("--base-url", show_default=False)] = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the questions here (for annotate --general-questions).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    concurrency: ConcurrencyOption = 8,
    timeout: TimeoutOption = 120.0,
) -> None:
    """Propose open questions for a sample of images, cluster them by meaning, and keep the k
    most frequent clusters: how the paper chose its four general questions."""
    from eibench.atomic import write_text
    from eibench.cfsa.annotate import IMAGE_SUFFIXES
    from eibench.cfsa.mine import mine_questions as mine

    keys = sorted(p.relative_to(images).as_posix() for p in images.glob(glob)
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)  # fmt: skip
    if not keys:
        raise EIBenchError(f"no images under {images} matching {glob}")
    clusters, proposed = mine(
        images, keys, llm, k=k, per_image=per_image, sample=sample,
        options=ModelOptions(base_urls=base_url or [], timeout=timeout), workspace=workspace,
        concurrency=concurrency, on_progress=ProgressBar(),
    )  # fmt: skip
    table = Table(title=f"general questions ({proposed} proposed)", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("question")
    table.add_column("proposals", justify="right")
    for i, cluster in enumerate(clusters, 1):
        table.add_row(str(i), escape(cluster.representative), str(cluster.size))
    out.print(table)
    if out_path is not None:
        write_text(out_path, "".join(c.representative + "\n" for c in clusters))
