"""`eibench data ...`: download, describe, validate and export the release."""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, track
from rich.table import Table

from eibench.cli.console import err, out
from eibench.cli.options import DataOption, ImagesOption, SplitOption, load_splits
from eibench.data.categories import category_label
from eibench.data.check import check_dataset, exit_code
from eibench.data.download import download_release
from eibench.data.export import export_samples
from eibench.data.release import RELEASE_FILES, default_cache_dir
from eibench.data.stats import GroupStats, SplitStats, split_stats

data_app = typer.Typer(
    help="Download, describe, validate and export the EIBench release.", no_args_is_help=True
)


@data_app.command()
def download(
    dest: Annotated[
        Path | None,
        typer.Option(
            help="Where to put the release. Default: $EIBENCH_DATA, else the user cache.",
            show_default=False,
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="A mirror: a base URL or a folder laid out like the EIBench repository "
            "(EIBench/EI_Basic/...) or like its EIBench/ folder (EI_Basic/...).",
            show_default=False,
        ),
    ] = None,
    human_eval: Annotated[
        bool, typer.Option("--human-eval", help="Also fetch the three raters' score files.")
    ] = False,
) -> None:
    """Fetch the EIBench annotation files at the pinned commit and verify their sha256."""
    target = dest or default_cache_dir()
    wanted = [f for f in RELEASE_FILES if f.required or human_eval]
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("EIBench release", total=None)
        paths = download_release(
            target, source, human_eval=human_eval, progress=lambda f, n: bar.advance(task, n)
        )
    where = escape(str(target))
    err.print(f"[green]verified {len(paths)} of {len(wanted)} files[/] (sha256) into {where}")
    typer.echo(str(target))  # plain: a script reads this path, so no wrapping or markup


def _row(table: Table, name: str, g: GroupStats, style: str = "") -> None:
    t, q = g.triggers_per_sample, g.question_words
    table.add_row(
        name,
        f"{g.samples:,}",
        f"{g.images:,}",
        f"{g.triggers:,}",
        f"{t.min}-{t.max}",
        f"{t.mean:.2f}",
        f"{q.mean:.1f}",
        style=style,
    )


def _stats_table(split: str, stats: SplitStats) -> Table:
    table = Table(title=f"EIBench {split}", title_justify="left")
    table.add_column("group", no_wrap=True)
    for column in (
        "samples",
        "images",
        "triggers",
        "triggers\nrange",
        "triggers\nmean",
        "question\nwords",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    _row(table, "all", stats.overall, style="bold")
    table.add_section()
    for name, group in stats.by_emotion.items():
        _row(table, category_label(name), group)
    table.add_section()
    for name, group in stats.by_source.items():
        _row(table, name, group)
    return table


def _histogram_table(split: str, stats: SplitStats) -> Table:
    counts = sorted(stats.overall.trigger_histogram)
    table = Table(title=f"EIBench {split}: samples by number of triggers", title_justify="left")
    table.add_column("group")
    for k in counts:
        table.add_column(str(k), justify="right")
    for name, group in {"all": stats.overall, **stats.by_emotion}.items():
        counted = (str(group.trigger_histogram.get(k, 0)) for k in counts)
        table.add_row(category_label(name), *counted)
    return table


@data_app.command()
def stats(
    data: DataOption = None,
    split: SplitOption = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Samples, triggers, triggers per sample and question length by split, emotion, source."""
    result = {d.split: split_stats(d.samples) for d in load_splits(data, split)}
    if as_json:
        payload = {name: s.model_dump(mode="json") for name, s in result.items()}
        typer.echo(json.dumps(payload, indent=2))
        return
    for name, s in result.items():
        out.print(_stats_table(name, s))
        out.print(_histogram_table(name, s))


@data_app.command()
def check(
    data: DataOption = None,
    images: ImagesOption = None,
    split: SplitOption = "all",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the findings as JSON lines.")
    ] = False,
) -> None:
    """Validate the release; with --images, that every image exists, opens and stays in the root.

    Exit code: 0 clean, 1 warnings only, 2 errors.
    """

    def progress(keys: Iterable[str]) -> Iterable[str]:
        return track(list(keys), description="checking images", console=err, transient=True)

    findings = []
    for dataset in load_splits(data, split):
        findings.extend(check_dataset(dataset, images, progress))
    for finding in findings:
        if as_json:
            typer.echo(finding.model_dump_json())
        else:
            colour = "red" if finding.level == "error" else "yellow"
            out.print(
                f"[{colour}]{finding.level}[/]: {escape(f'{finding.where}: {finding.message}')}",
                highlight=False,
                soft_wrap=True,
            )
    errors = sum(f.level == "error" for f in findings)
    err.print(f"{errors} error(s), {len(findings) - errors} warning(s)")
    raise typer.Exit(exit_code(findings))


class Format(str, Enum):
    jsonl = "jsonl"
    parquet = "parquet"
    hf = "hf"


@data_app.command()
def export(
    fmt: Annotated[
        Format,
        typer.Option("--format", help="jsonl, parquet, or a Hugging Face datasets folder (hf)."),
    ],
    out_path: Annotated[
        Path, typer.Option("--out", help="File (jsonl, parquet) or folder (hf) to write.")
    ],
    data: DataOption = None,
    images: ImagesOption = None,
    split: SplitOption = "all",
) -> None:
    """Write one record per sample: id, split, image, source, emotion, question, triggers."""
    samples = [s for d in load_splits(data, split) for s in d.samples]
    export_samples(samples, fmt.value, out_path, images)
    err.print(f"wrote {len(samples):,} samples to {escape(str(out_path))}")
