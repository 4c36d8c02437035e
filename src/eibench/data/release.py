"""Where the EIBench release lives: the pinned upstream files, their checksums, the local copy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from eibench.errors import EIBenchError

REPOSITORY = "Lum1104/EIBench"
COMMIT = "aff98d088367e60ac412905dd534f0cf062386b7"
FOLDER = "EIBench"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}"
DATA_ENV = "EIBENCH_DATA"


@dataclass(frozen=True)
class ReleaseFile:
    path: str  # relative to the release folder (`EIBench/` upstream)
    sha256: str
    required: bool  # the annotations every split needs; the human-evaluation scores are extra


RELEASE_FILES = (
    ReleaseFile(
        "EI_Basic/user.jsonl",
        "04cb1145f124e261c0146470316f2d91e03fe7f87169f51396363eec3347b76b",
        True,
    ),
    ReleaseFile(
        "EI_Basic/basic_ground_truth.json",
        "17ba97385a6de152e8ed432b8a38eb899c970a10431a4f33ec3fa1a8c6478f8b",
        True,
    ),
    ReleaseFile(
        "EI_Complex/ec_complex.jsonl",
        "09eccd5112de2c03c191196ab8481ed072c0b7b7b133bea273ecdf2751d94d42",
        True,
    ),
    ReleaseFile(
        "human_eval/score_7861.jsonl",
        "b6ea108d0e8bc21f9e5db5d4381385b6f0bf2f67852d0638b1ec013f8aab2ee4",
        False,
    ),
    ReleaseFile(
        "human_eval/score_7862.jsonl",
        "4bdc0a9e6c509f4f6b2e5316915464b4b7c0a64f3a6b68afb49f727010f540af",
        False,
    ),
    ReleaseFile(
        "human_eval/score_7866.jsonl",
        "e5183cdbbe1be3d5ea18b93beabf557d9f9c3410adb0dd7e830a107281eb336a",
        False,
    ),
)

BASIC_QUESTIONS = "EI_Basic/user.jsonl"
BASIC_TRUTH = "EI_Basic/basic_ground_truth.json"
COMPLEX = "EI_Complex/ec_complex.jsonl"


def default_cache_dir() -> Path:
    """Where `eibench data download` puts the release: `EIBENCH_DATA`, else the user cache."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("eibench")) / f"release-{COMMIT[:12]}"


def release_root(directory: Path) -> Path | None:
    """The folder holding `EI_Basic/` and `EI_Complex/`: `directory` or `directory/EIBench`."""
    for candidate in (directory, directory / FOLDER):
        if (candidate / "EI_Basic").is_dir() or (candidate / "EI_Complex").is_dir():
            return candidate
    return None


def resolve_data_dir(data: Path | None = None) -> Path:
    """Find the release: `--data`, then `EIBENCH_DATA`, then the download cache."""
    if data is not None:
        tried = [("--data", Path(data).expanduser())]
    else:
        tried = []
        env = os.environ.get(DATA_ENV)
        if env:
            tried.append((DATA_ENV, Path(env).expanduser()))
        tried.append(("download cache", default_cache_dir()))
    for origin, directory in tried:
        root = release_root(directory)
        if root is not None:
            return root
        if origin != "download cache":
            raise EIBenchError(
                f"{directory}: no EIBench release here (from {origin}); expected "
                "EI_Basic/ and EI_Complex/ in it or in its EIBench/ folder"
            )
    raise EIBenchError(
        "no EIBench data found: run `eibench data download`, or pass --data DIR "
        f"(or set {DATA_ENV}) pointing at a copy of the release"
    )
