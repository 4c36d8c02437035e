"""Image access: every image is found through `resolve_image`, which refuses keys that escape."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from eibench.errors import EIBenchError

if TYPE_CHECKING:
    from PIL import Image


class ImageError(EIBenchError):
    """An image key that is unsafe, or an image that is missing or unreadable."""


def key_problem(key: str) -> str | None:
    """Why `key` is not a safe relative image key, or None when it is."""
    if not key or not key.strip():
        return "empty image key"
    if "\x00" in key:
        return "image key contains a NUL byte"
    parts = key.replace("\\", "/").split("/")
    if key.startswith(("/", "\\")) or (len(key) > 1 and key[1] == ":"):
        return "image key is an absolute path"
    if ".." in parts:
        return "image key escapes the image root ('..')"
    return None


@lru_cache(maxsize=16)
def _resolved_root(root: Path) -> Path:
    return Path(root).resolve()


def resolve_image(root: Path, key: str) -> Path:
    """The file for `key` under `root`; refuses keys that escape it, symbolic links included."""
    problem = key_problem(key)
    if problem:
        raise ImageError(f"{key!r}: {problem}")
    base = _resolved_root(Path(root))
    path = base / key
    if not os.path.realpath(path).startswith(f"{base}{os.sep}"):
        raise ImageError(f"{key!r}: resolves outside the image root {base} (symbolic link)")
    return path


def open_image(root: Path, key: str) -> Image.Image:
    """Open the image for `key` lazily: Pillow reads the header now and the pixels on use."""
    from PIL import Image, UnidentifiedImageError

    path = resolve_image(root, key)
    try:
        return Image.open(path)
    except FileNotFoundError:
        raise ImageError(f"{path}: image not found") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image Pillow can read") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot open ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: refused, too many pixels ({exc})") from None
