"""One writer at a time per job: an OS file lock per (workspace, job name).

Two `eibench run` processes on the same run would race for the same samples; instead the second
one is refused at once with a clear message, and the first one's summary stays true. The lock is
an `flock` on a file under `<workspace>/locks/` (through `filelock`), so the operating system
releases it when its process dies, even by kill -9: a crashed run never blocks its own resume.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from eibench.errors import EIBenchError

LOCKS_DIR = "locks"


class Busy(EIBenchError):
    """Another process is writing the same job."""


def _owner(path: Path) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return f" ({text})"
    return ""


@contextlib.contextmanager
def writer_lock(workspace: Path, kind: str, name: str) -> Iterator[None]:
    """Hold the write lock of job `name` (a run, a judging, an annotation batch) of `kind`.

    Raises `Busy` at once when another live process holds it."""
    folder = workspace / LOCKS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(f"{kind}\x00{name}".encode()).hexdigest()[:24]
    path = folder / f"{kind}-{digest}.lock"
    owner = path.with_suffix(".owner")
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise Busy(
            f"{kind} {name!r} is being written by another eibench process{_owner(owner)}; "
            "wait for it to finish (or stop it), then rerun: the command resumes where it stopped"
        ) from None
    try:
        with contextlib.suppress(OSError):
            owner.write_text(f"pid {os.getpid()} on {socket.gethostname()}", encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            owner.unlink()
        lock.release()
