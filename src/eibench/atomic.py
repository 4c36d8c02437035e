"""Write files and folders so that a reader never sees a half-written one."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target` in one rename.

    The temporary path does not exist yet: the caller creates a file or a folder there. On any
    error the temporary is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", dir=target.parent))
    staged = tmp / target.name
    try:
        yield staged
        if staged.is_dir() and target.is_dir():
            shutil.rmtree(target)
        os.replace(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's), or this platform cannot tell: keep it
    return True


def remove_leftovers(target: Path) -> list[Path]:
    """Remove the temporaries that writers of `target` killed mid-write left beside it (their
    process is gone); returns what was removed. A live writer's temporary is left alone."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?:(\d+)\.)?[a-z0-9_]{{8}}")
    removed = []
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            match = pattern.fullmatch(entry.name)
            if match is None or not entry.is_dir():
                continue
            pid = match.group(1)
            if pid is not None and (int(pid) == os.getpid() or _alive(int(pid))):
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def write_text(target: Path, text: str) -> None:
    """Write `text` as UTF-8 to `target` atomically."""
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
