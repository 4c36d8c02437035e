"""Named, versioned judge configurations: the threshold of a judge whose verdicts score each
trigger (`entail`: P(yes); `semantic`: the match score), fitted on people's audit labels by
`eibench judge calibrate --save NAME` and used by `eibench judge --judge-config NAME`.

A configuration is a JSON file, `<workspace>/judge-configs/NAME.json` (or any path), holding the
protocol, the threshold and where the threshold came from. Its version is a digest of what
changes verdicts (protocol and threshold), so two files with the same behaviour share a version
and a refit that moves the threshold is a new version. Judgings record `NAME@VERSION`.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from eibench.atomic import write_text
from eibench.errors import DataError, EIBenchError
from eibench.judges.protocols import ENTAIL, SEMANTIC
from eibench.slugs import Name
from eibench.validation import describe

FITTABLE = (ENTAIL, SEMANTIC)
"""The protocols whose verdicts carry a per-trigger score that a threshold reads."""
FOLDER = "judge-configs"


class Fit(BaseModel):
    """Where a fitted threshold came from and how well it agreed with people there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audit: str = Field(description="the audit campaign whose labels it was fitted on")
    run: str
    judge: str = Field(description="the judge whose stored scores were read")
    samples: int
    triggers: int
    kappa: float = Field(description="Cohen's kappa with the people at the fitted threshold")
    accuracy: float
    fitted_at: datetime


class JudgeConfig(BaseModel):
    """One named judge configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    protocol: str
    threshold: float = Field(description="a trigger is covered when its score reaches this")
    fit: Fit | None = None

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        if value not in FITTABLE:
            raise ValueError(f"a protocol with per-trigger scores ({', '.join(FITTABLE)})")
        return value

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("a finite number")
        return value

    @property
    def version(self) -> str:
        """A digest of what changes verdicts: the protocol and the threshold."""
        behaviour = json.dumps({"protocol": self.protocol, "threshold": self.threshold})
        return hashlib.sha256(behaviour.encode()).hexdigest()[:10]

    @property
    def label(self) -> str:
        """`NAME@VERSION`, as judgings record it."""
        return f"{self.name}@{self.version}"


def config_path(name: str, workspace: Path) -> Path:
    return workspace / FOLDER / f"{name}.json"


def save_judge_config(config: JudgeConfig, workspace: Path) -> Path:
    """Write `config` into the workspace's judge-configs folder (atomically); its path."""
    path = config_path(config.name, workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, config.model_dump_json(indent=2) + "\n")
    return path


def load_judge_config(ref: str, workspace: Path) -> JudgeConfig:
    """The configuration `ref`: a path to a JSON file, or a name saved in the workspace. A
    missing or bad one is a one-line error (naming the saved ones for an unknown name)."""
    path = Path(ref).expanduser()
    if path.suffix != ".json":
        path = config_path(ref, workspace)
        if not path.is_file():
            saved = sorted(p.stem for p in (workspace / FOLDER).glob("*.json"))
            known = ", ".join(saved) if saved else "none yet: `eibench judge calibrate --save`"
            raise EIBenchError(f"no judge configuration {ref!r} in {workspace} (saved: {known})")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "no such judge configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"cannot read the judge configuration: {exc}") from None
    try:
        return JudgeConfig.model_validate_json(text)
    except ValidationError as exc:
        raise DataError(path, describe(exc, JudgeConfig)) from None
