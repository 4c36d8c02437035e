"""Experiment files: one YAML file describes a grid (models x splits x settings x personas,
judged by judges x protocols), read with `${ENV}` references expanded and command-line
overrides applied. The file is only ever read, so a secret in the environment is never written
back anywhere."""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from eibench.data.schema import Split
from eibench.errors import DataError, EIBenchError
from eibench.experiments.yaml_safe import parse_yaml, read_yaml
from eibench.judges.protocols import ProtocolName
from eibench.models.base import SamplingParams
from eibench.models.options import BaseUrl
from eibench.profiles import PROFILES
from eibench.settings.kinds import SettingName
from eibench.validation import describe

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

MAX_CONCURRENCY = 4096
"""The most calls in flight at once, for `--concurrency` and a grid's `concurrency`: each is a
worker task and, for an API model, an open connection; far more than any one server takes."""

Concurrency = Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]


def _profile(name: str | None) -> str | None:
    return PROFILES.check(name) if name else None


ProfileName = Annotated[str | None, AfterValidator(_profile)]
"""A registered generation profile's name (`eibench.profiles`), or none (also written as an
empty string, as `${PROFILE:-}` expands when the variable is set empty)."""


_CACHE_AS = (
    "cache answers under this endpoint name instead of the base URLs (as --cache-as); "
    "'default': as the backend's default endpoint"
)


class GridModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str = Field(description="model spec: openai:MODEL, anthropic:MODEL, hf:ID, prior")
    label: str | None = Field(None, description="name used in run names (default: the spec)")
    base_url: list[BaseUrl] = Field(default_factory=list)
    cache_as: str | None = Field(None, description=_CACHE_AS)
    profile: ProfileName = Field(
        None,
        description="generation profile: the release's decoding settings and prompts for this "
        "model (default: the grid's `profile`); of the grid's `params` only the seed applies",
    )


class GridJudge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: ProtocolName = "semantic"
    judge: str | None = Field(None, description="judge model spec (none for semantic)")
    base_url: list[BaseUrl] = Field(default_factory=list)
    cache_as: str | None = Field(None, description=_CACHE_AS)
    paper_sampling: bool = False


class GridParams(SamplingParams):
    """A grid's `params:`: the sampling a person chooses, no other key."""

    model_config = ConfigDict(extra="forbid")


class Grid(BaseModel):
    """A grid of runs and judgings. Run names are `<name>-<model>-<split>-<setting>[-persona]`."""

    model_config = ConfigDict(extra="forbid")

    name: str = "eval"
    data: Path | None = None
    images: Path | None = None
    workspace: Path | None = None
    models: list[GridModel] = Field(min_length=1)
    splits: list[Split] = Field(default=["basic"])
    settings: list[SettingName] = Field(default=["user"])
    complex_settings: list[SettingName] = Field(
        default=["user"], description="the complex split's settings (paper: user)"
    )
    personas: list[str] = Field(default_factory=lambda: ["emotion"])
    judges: list[GridJudge] = Field(default_factory=lambda: [GridJudge()])
    profile: ProfileName = Field(
        None, description="generation profile of every model that names none (--set profile=)"
    )
    params: GridParams = Field(
        default_factory=GridParams, description="sampling of the models without a profile"
    )
    concurrency: Concurrency = 8
    judge_concurrency: Concurrency = 8
    timeout: float = Field(120.0, gt=0, description="seconds for one model call, all of it")
    max_attempts: int = Field(5, ge=1, le=100, description="attempts per call before it fails")
    limit: int | None = Field(None, ge=1, description="only the first N samples of each split")
    subset: int | None = Field(
        None,
        ge=1,
        description="a seeded sample of N of each split, stratified by emotion, so "
        "that every category has a figure (the first N of the basic split are all Angry)",
    )
    subset_seed: int = Field(0, description="the seed of `subset`")
    report: Path | None = Field(None, description="write the HTML report here at the end")


def expand_env(value: Any, path: Path) -> Any:
    """`${VAR}` and `${VAR:-default}` in every string of `value`; an unset variable without a
    default is an error naming the file."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = os.environ.get(name)
            if found is None:
                if default is None:
                    raise DataError(path, f"${{{name}}} is not set in the environment")
                return default
            return found

        return _ENV.sub(one, value)
    if isinstance(value, list):
        return [expand_env(v, path) for v in value]
    if isinstance(value, dict):
        return {k: expand_env(v, path) for k, v in value.items()}
    return value


def _step(target: Any, parent: str, part: str, assignment: str) -> tuple[Any, str | int]:
    """The container (`target`, found at key `parent`) that `part` of an override's key names
    a slot of, and the slot: a key of a mapping, or an index of a list (`models.0.profile`)."""
    if isinstance(target, list):
        if not part.isdigit() or int(part) >= len(target):
            raise EIBenchError(
                f"--set {assignment!r}: {part} is not an index of {parent} "
                f"(a list of {len(target)})"
            )
        return target, int(part)
    if not isinstance(target, dict):
        raise EIBenchError(f"--set {assignment!r}: {parent} is not a mapping")
    return target, part


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """`key.sub=value` (the value read as YAML) set into `data`; a number picks an item of a
    list (`models.0.profile=llava`)."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise EIBenchError(f"--set {assignment!r}: use KEY=VALUE, e.g. concurrency=32")
    target: Any = data
    parts = key.split(".")
    for index, part in enumerate(parts):
        parent = ".".join(parts[:index]) or "the file"
        container, slot = _step(target, parent, part, assignment)
        if index == len(parts) - 1:
            container[slot] = parse_yaml(raw, f"--set {assignment!r}", lines=False)
        elif isinstance(container, dict) and slot not in container:
            container[slot] = {}
        target = container[slot]


def bundled(name: str) -> Path:
    """A config shipped with eibench (`quickstart`, `paper`)."""
    return Path(str(resources.files("eibench").joinpath(f"configs/{name}.yaml")))


def load_grid(path: Path, overrides: list[str] | None = None) -> Grid:
    """The grid in `path`, with `--set` overrides applied before validation."""
    try:
        raw = read_yaml(path, "experiment file")
    except FileNotFoundError:
        raise DataError(path, "no such experiment file") from None
    if not isinstance(raw, dict):
        raise DataError(path, "an experiment file is a YAML mapping (models:, settings:, ...)")
    for assignment in overrides or []:
        apply_override(raw, assignment)
    try:
        return Grid.model_validate(expand_env(raw, path))
    except ValidationError as exc:
        for assignment in overrides or []:  # a bad --set is the flag's fault, not the file's
            if _about(exc, assignment.split("=", 1)[0].strip()):
                raise EIBenchError(f"--set {assignment}: {describe(exc, Grid)}") from None
        raise DataError(path, describe(exc, Grid)) from None


def _about(exc: ValidationError, key: str) -> bool:
    """Whether an error of `exc` is at the dotted `--set` key or inside it."""
    found = (".".join(str(part) for part in e["loc"]) for e in exc.errors())
    return any(loc == key or loc.startswith(key + ".") for loc in found)
