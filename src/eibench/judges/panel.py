"""Judge panels: several judges' verdicts on the same answers, combined per sample, with their
agreement. A panel is given as `--judge` several times or as a panel file (TOML):

    protocol = "paper-llama3"            # optional: the protocol every judge uses

    [[judge]]
    spec = "openai:meta-llama/Meta-Llama-3-8B-Instruct"
    base_url = ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]   # optional

    [[judge]]
    spec = "anthropic:claude-3-haiku-20240307"
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eibench.config import read_toml
from eibench.errors import DataError
from eibench.judges.protocols import ProtocolName
from eibench.models.options import BaseUrl
from eibench.store import Judgment
from eibench.validation import dotted, first_problem

Combine = Literal["mean", "majority"]


class PanelJudge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str
    base_url: list[BaseUrl] = Field(default_factory=list)


class Panel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: ProtocolName | None = None
    judge: list[PanelJudge] = Field(min_length=1)


def read_panel(path: Path) -> Panel:
    """The panel file at `path`; a bad file is a one-line `DataError`."""
    try:
        data = read_toml(path, "panel file")
    except FileNotFoundError:
        raise DataError(path, "no such panel file") from None
    try:
        return Panel.model_validate(data)
    except ValidationError as exc:
        raise DataError(path, _panel_problem(exc, data)) from None


def _panel_problem(exc: ValidationError, data: dict[str, Any]) -> str:
    """`[[judge]] 2 (spec 'openai:x'): what`, naming a judge entry as the file numbers it."""
    loc, problem = first_problem(exc, Panel)
    if len(loc) >= 2 and loc[0] == "judge" and isinstance(loc[1], int):
        entries = data.get("judge")
        entry = entries[loc[1]] if isinstance(entries, list) else None
        spec = entry.get("spec") if isinstance(entry, dict) else None
        named = f" (spec {spec!r})" if isinstance(spec, str) else ""
        rest = dotted(loc[2:])
        return f"[[judge]] {loc[1] + 1}{named}{': ' + rest if rest else ''}: {problem}"
    return f"{dotted(loc)}: {problem}" if loc else problem


def combine(
    judgments: Mapping[str, Mapping[str, Judgment]], values: Mapping[str, Mapping[str, float]],
    how: Combine,
) -> dict[str, float]:  # fmt: skip
    """The panel's per-sample recall, on the samples every judge scored.

    `judgments` and `values` map judge -> sample id -> judgment / scored value. `mean` averages
    the judges' values. `majority` counts a trigger as covered when more than half the judges
    say so, where every judge gave per-trigger evidence; otherwise it takes the median value.
    """
    judges = list(values)
    shared = set.intersection(*(set(v) for v in values.values())) if judges else set()
    panel: dict[str, float] = {}
    for sid in sorted(shared):
        scores = [values[j][sid] for j in judges]
        if how == "mean":
            panel[sid] = statistics.fmean(scores)
            continue
        votes = [judgments[j][sid].verdict for j in judges]
        if all(v is not None and v.triggers for v in votes):
            covered = [
                sum(t.covered for t in triggers) * 2 > len(judges)
                for triggers in zip(*(v.triggers for v in votes if v is not None), strict=True)
            ]
            panel[sid] = sum(covered) / len(covered)
        else:
            panel[sid] = statistics.median(scores)
    return panel
