"""Downscaled images embedded in a report as data: URIs, so the file opens with no server."""

from __future__ import annotations

from pathlib import Path

from eibench.data.images import ImageError
from eibench.models.images import image_part

THUMBNAIL_SIDE = 192


def thumbnail(root: Path, key: str, side: int = THUMBNAIL_SIDE) -> str | None:
    """The image for `key` under `root`, at most `side` pixels on its long side, as a data URI;
    None when the image is missing or unreadable (the report then shows its key only)."""
    try:
        part = image_part(root, key, max_side=side)
    except ImageError:
        return None
    return f"data:{part.media_type};base64,{part.b64()}"
