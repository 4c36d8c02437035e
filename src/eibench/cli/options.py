"""Options shared by many commands, so that scripts can pass them uniformly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from eibench.data import SPLITS, Dataset, load_split, resolve_data_dir
from eibench.data.schema import Split
from eibench.errors import EIBenchError
from eibench.experiments.config import MAX_CONCURRENCY
from eibench.models.options import base_url_problem

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Folder with the EIBench release (EI_Basic/, EI_Complex/). "
        "Default: $EIBENCH_DATA, then the `eibench data download` cache.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ImagesOption = Annotated[
    Path | None,
    typer.Option(
        "--images",
        help="Image root: <root>/<key> is each image (EmoSet-118k/..., CAER-S/...).",
        show_default=False,
    ),
]


SplitChoice = Literal[Split, "all"]
"""A split (`data.schema.Split`), or all of them."""


SplitOption = Annotated[SplitChoice, typer.Option("--split", help="Which split to use.")]


def load_splits(data: Path | None, split: SplitChoice) -> list[Dataset]:
    """Resolve the data folder and load the chosen split(s)."""
    root = resolve_data_dir(data)
    chosen: tuple[Split, ...] = SPLITS if split == "all" else (split,)
    return [load_split(root, name) for name in chosen]


WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        help="Folder of the run store. Default: $EIBENCH_WORKSPACE, else ./eibench-workspace.",
        show_default=False,
    ),
]
RunOption = Annotated[str, typer.Option("--run", help="Run name.")]

RUNNER_PANEL = "Runner"
ConcurrencyOption = Annotated[
    int,
    typer.Option(
        help="Calls in flight at once.",
        min=1,
        max=MAX_CONCURRENCY,
        rich_help_panel=RUNNER_PANEL,
    ),
]
AdaptiveOption = Annotated[
    bool,
    typer.Option(
        "--adaptive",
        help="Halve concurrency on 429, climb back on success.",
        rich_help_panel=RUNNER_PANEL,
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        help="Seconds for one model call, all of it (a server that trickles bytes is cut off).",
        rich_help_panel=RUNNER_PANEL,
    ),
]
MaxAttemptsOption = Annotated[
    int, typer.Option(help="Attempts per call before it fails.", rich_help_panel=RUNNER_PANEL)
]
RetryFailedOption = Annotated[
    bool,
    typer.Option(
        "--retry-failed", help="Also redo samples that failed before.", rich_help_panel=RUNNER_PANEL
    ),
]
NoCacheOption = Annotated[
    bool,
    typer.Option(
        "--no-cache", help="Do not reuse identical earlier calls.", rich_help_panel=RUNNER_PANEL
    ),
]


def checked_base_urls(param: typer.CallbackParam, value: list[str] | None) -> list[str] | None:
    """Callback of a `--base-url`-like option: each must be an http(s) URL with a host."""
    for url in value or []:
        problem = base_url_problem(url)
        if problem is not None:
            raise EIBenchError(f"{param.opts[0] if param.opts else param.name}: {problem}")
    return value


FoldOption = Annotated[
    str, typer.Option(help="With --labels: only the labelled set's rows of this fold (or all).")
]
