"""`eibench runs`, `eibench export`, `eibench import`: what the store holds, in and out."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import JustifyMethod
from rich.markup import escape
from rich.table import Table

from eibench.answers.exchange import export_run, import_answers
from eibench.cli.console import err, out, print_uncut
from eibench.cli.options import DataOption, JsonOption, WorkspaceOption
from eibench.data import load_split, resolve_data_dir
from eibench.data.schema import Split
from eibench.store import RunInfo, Store


def runs(workspace: WorkspaceOption = None, as_json: JsonOption = False) -> None:
    """List the runs in the store with their status counts and tokens; no name is ever cut
    (the table grows past the terminal instead)."""
    with Store.open(workspace, create=False) as store:
        infos = store.runs()
    if as_json:
        listed = [
            {
                "run": info.name,
                "config": info.config.model_dump(mode="json"),
                "counts": info.counts,
                "usage": info.usage.model_dump(),
                "created": info.created_at,
            }
            for info in infos
        ]
        out.out(json.dumps(listed, indent=2), highlight=False)
        return
    if not infos:
        err.print(f"no runs yet in {escape(str(store.path))}")
        return
    rows = [_run_row(info) for info in infos]
    # a column that says nothing (every persona the default, no profile) is left out
    shown = [
        i for i, column in enumerate(RUN_COLUMNS)
        if column not in ("persona", "profile") or any(r[i] not in ("", "emotion") for r in rows)
    ]  # fmt: skip
    table = Table(title="runs", title_justify="left")
    for i in shown:
        column = RUN_COLUMNS[i]
        justify: JustifyMethod = "right" if column in ("ok", "failed", "tokens") else "left"
        table.add_column(column, justify=justify, no_wrap=True)
    for r in rows:
        table.add_row(*(escape(r[i]) for i in shown))
    print_uncut(table)


def _run_row(info: RunInfo) -> list[str]:
    c = info.config
    tokens = info.usage.input_tokens + info.usage.output_tokens
    return [
        info.name, c.model, c.split, c.setting, c.persona, c.params.profile or "",
        f"{info.counts.get('ok', 0):,}", f"{info.counts.get('failed', 0):,}", f"{tokens:,}",
        info.created_at[:16].replace("T", " "),
    ]  # fmt: skip


RUN_COLUMNS = ("run", "model", "split", "setting", "persona", "profile", "ok", "failed",
               "tokens", "created")  # fmt: skip


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
    with Store.open(workspace, create=False) as store:
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
