"""Fetch the pinned EIBench release files, verify their sha256, and install them atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from eibench.data.release import DEFAULT_BASE_URL, FOLDER, RELEASE_FILES, ReleaseFile
from eibench.errors import EIBenchError

Progress = Callable[[ReleaseFile, int], None]  # called with each file and the bytes just read


class DownloadError(EIBenchError):
    """The release could not be fetched or did not match its checksums; nothing was written."""


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _fetch_url(
    client: httpx.Client, base: str, file: ReleaseFile, dest: Path, progress: Progress
) -> None:
    """Stream one file from `base`, laid out like the repository or like its EIBench/ folder."""
    base = base.rstrip("/")
    candidates = [f"{base}/{FOLDER}/{file.path}", f"{base}/{file.path}"]
    for url in candidates:
        try:
            with client.stream("GET", url) as response:
                if response.status_code == 404:
                    continue
                if response.status_code != 200:
                    raise DownloadError(f"{url}: HTTP {response.status_code}")
                expected = response.headers.get("content-length")
                with dest.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        progress(file, len(chunk))
                # Content-Length counts the bytes on the wire (before any Content-Encoding such
                # as gzip is undone), so compare it with those, not with the decoded size.
                size = response.num_bytes_downloaded
                if expected is not None and size != int(expected):
                    raise DownloadError(f"{url}: partial download ({size} of {expected} bytes)")
                return
        except httpx.HTTPError as exc:
            raise DownloadError(f"{url}: download failed ({type(exc).__name__}: {exc})") from None
    raise DownloadError(f"{file.path}: not found at {' or '.join(candidates)}")


def _copy_dir(base: Path, file: ReleaseFile, dest: Path, progress: Progress) -> None:
    candidates = [base / FOLDER / file.path, base / file.path]
    for path in candidates:
        if path.is_file():
            shutil.copyfile(path, dest)
            progress(file, path.stat().st_size)
            return
    raise DownloadError(f"{file.path}: not found at {' or '.join(map(str, candidates))}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_release(
    dest: Path,
    source: str | None = None,
    *,
    human_eval: bool = False,
    timeout: float = 60.0,
    progress: Progress = lambda file, n: None,
) -> list[Path]:
    """Fetch the release into `dest` (laid out as `EI_Basic/`, `EI_Complex/`, `human_eval/`).

    `source` is a base URL or a folder, laid out like the repository at the pinned commit or
    like its `EIBench/` folder; by default the public repository. Every file is verified
    against its pinned sha256 in a staging folder inside `dest`, and only when all are good are
    they renamed into place, so a failed or partial download leaves nothing behind.
    """
    files = [f for f in RELEASE_FILES if f.required or human_eval]
    origin = source or DEFAULT_BASE_URL
    dest = Path(dest)
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        _stage_and_install(dest, origin, files, timeout, progress)
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    return [dest / f.path for f in files]


def _stage_and_install(
    dest: Path, origin: str, files: list[ReleaseFile], timeout: float, progress: Progress
) -> None:
    with tempfile.TemporaryDirectory(prefix=".eibench-download-", dir=dest) as tmp:
        staging = Path(tmp)
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            for file in files:
                target = staging / file.path
                target.parent.mkdir(parents=True, exist_ok=True)
                if _is_url(origin):
                    _fetch_url(client, origin, file, target, progress)
                else:
                    _copy_dir(Path(origin).expanduser(), file, target, progress)
                actual = sha256_of(target)
                if actual != file.sha256:
                    raise DownloadError(
                        f"{file.path}: checksum mismatch (expected sha256 {file.sha256[:12]}..., "
                        f"got {actual[:12]}...); nothing was written"
                    )
        # Every file is verified: move them into place, each in one rename.
        for file in files:
            (dest / file.path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / file.path, dest / file.path)
