"""`eibench runs`, `eibench export`, `eibench import`: what the store holds, in and out."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.answers.exchange import export_run, import_answers
from eibench.cli.console import err, out
from eibench.cli.options import DataOption, WorkspaceOption
from eibench.data import load_split, resolve_data_dir
from eibench.data.schema import Split
from eibench.store import Store


def runs(workspace: WorkspaceOption = None) -> None:
    """List the runs in the store with their status counts and tokens."""
    with Store.open(workspace) as store:
        infos = store.runs()
    if not infos:
        err.print(f"no runs yet in {escape(str(store.path))}")
        return
    table = Table(title="runs", title_justify="left")
    for column in (
        "run",
        "model",
        "split",
        "setting",
        "persona",
        "profile",
        "ok",
        "failed",
        "tokens",
        "created",
    ):
        table.add_column(
            column, justify="right" if column in ("ok", "failed", "tokens") else "left"
        )
    for info in infos:
        c = info.config
        tokens = info.usage.input_tokens + info.usage.output_tokens
        table.add_row(
            escape(info.name),
            escape(c.model),
            c.split,
            c.setting,
            c.persona,
            escape(c.params.profile or ""),
            f"{info.counts.get('ok', 0):,}",
            f"{info.counts.get('failed', 0):,}",
            f"{tokens:,}",
            info.created_at,
        )
    out.print(table)


class ExportFormat(str, Enum):
    reference = "reference"
    jsonl = "jsonl"


def export(
    run: Annotated[str, typer.Option("--run", help="Run name.")],
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", help="reference: {image: answer} per line; jsonl: everything."),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="File to write.")],
    workspace: WorkspaceOption = None,
    data: DataOption = None,
) -> None:
    """Write a run's answers, in the release scripts' format or as full JSON Lines."""
    with Store.open(workspace) as store:
        config = store.require_run(run)
        dataset = load_split(resolve_data_dir(data), config.split)
        written, left_out = export_run(store, run, dataset, fmt.value, out_path)
    err.print(f"wrote {written:,} record(s) to {escape(str(out_path))}")
    if left_out:
        err.print(f"[yellow]{left_out} failed sample(s) have no answer and were left out[/]")


def import_(
    file: Annotated[
        Path, typer.Argument(help="Answers in the reference format: {image: answer} per line.")
    ],
    run: Annotated[str, typer.Option("--run", help="Run name to create or replace.")],
    model: Annotated[str, typer.Option("--model", help="A label for the model that answered.")],
    split: Annotated[Split, typer.Option(help="Which split the answers are for.")],
    workspace: WorkspaceOption = None,
    data: DataOption = None,
) -> None:
    """Bring answers produced elsewhere into the store, so that they can be judged."""
    dataset = load_split(resolve_data_dir(data), split)
    with Store.open(workspace) as store:
        count = import_answers(store, file, run, model, dataset)
    err.print(f"imported {count:,} answer(s) into run {escape(run)!s}")
    if count < len(dataset.samples):
        err.print(f"{len(dataset.samples) - count:,} {split} sample(s) have no answer in the file")
