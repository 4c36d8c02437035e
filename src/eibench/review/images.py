"""The review app's images: an item's picture by its stored key, refusing files that are missing,
damaged, or decompression bombs (more pixels than `MAX_PIXELS`) before they are decoded."""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image

from eibench.data.images import ImageError, resolve_image
from eibench.models.base import ImagePart
from eibench.models.images import image_part

MAX_PIXELS = 89_478_485  # Pillow's default guard, fixed here whatever Pillow is set to
log = logging.getLogger("eibench.review")


class ImageMissing(Exception):
    """The item's image key is unsafe or names no file."""


class ImageUnreadable(Exception):
    """The item's image exists but cannot be shown: damaged, not an image, or too large."""


def review_image(root: Path, key: str, max_side: int) -> ImagePart:
    """The image at `key` under `root`, downscaled to fit `max_side`.

    Raises ImageMissing or ImageUnreadable; a Pillow failure of any kind is an ImageUnreadable,
    never an unhandled error."""
    try:
        path = resolve_image(root, key)
    except ImageError:
        raise ImageMissing(key) from None
    if not path.is_file():
        raise ImageMissing(key)
    try:
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageUnreadable(f"{key}: {width}x{height} pixels is more than {MAX_PIXELS:,}")
        return image_part(root, key, max_side)
    except ImageUnreadable as exc:
        log.warning("review image refused: %s", exc)
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, bomb errors, ...
        # DecompressionBombError and DecompressionBombWarning (when warnings are errors) land
        # here too, as does the ImageError that image_part makes of an unreadable file.
        log.warning("review image unreadable: %s: %s: %s", key, type(exc).__name__, exc)
        raise ImageUnreadable(key) from None
