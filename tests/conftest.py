"""Shared fixtures. Tests read the released annotations from `../shared/eibench`
(override with EIBENCH_SHARED); when that folder is missing they fail loudly, never skip."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_ENV = "EIBENCH_SHARED"


def shared_release() -> Path:
    path = Path(os.environ.get(SHARED_ENV, REPO.parent / "shared" / "eibench"))
    if not (path / "EI_Basic" / "user.jsonl").is_file():
        raise RuntimeError(
            f"the EIBench release files are missing at {path}: tests need them "
            f"(set {SHARED_ENV} to a folder holding EI_Basic/, EI_Complex/, human_eval/)"
        )
    return path


@pytest.fixture(scope="session")
def release_dir() -> Path:
    """The read-only shared copy of the release."""
    return shared_release()


@pytest.fixture
def release_copy(tmp_path: Path, release_dir: Path) -> Path:
    """A writable copy of the release, for tests that break it."""
    dest = tmp_path / "release"
    shutil.copytree(release_dir, dest)
    return dest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep tests away from the user's data cache and settings."""
    monkeypatch.delenv("EIBENCH_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="session")
def release_images(tmp_path_factory: pytest.TempPathFactory, release_dir: Path) -> Path:
    """Small synthetic images at every release key (JPEG for EmoSet, PNG for CAER-S)."""
    from eibench.data import load_split
    from tests.release_factory import make_images

    keys = {
        s.image for split in ("basic", "complex") for s in load_split(release_dir, split).samples
    }
    return make_images(tmp_path_factory.mktemp("images"), sorted(keys), size=(8, 8))


@pytest.fixture
def small_disk(tmp_path: Path):
    """A folder on its own 2 MiB tmpfs, so that filling it is a real full disk (needs root,
    as CI runs; a machine that cannot mount fails the test loudly)."""
    import subprocess

    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"the full-disk tests mount a tmpfs, which needs root: {mounted.stderr}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
