"""Images as model input: read from the image root, optionally downscaled, inline bytes."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from eibench.data.images import ImageError, resolve_image
from eibench.models.base import ImagePart

_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


def image_part(root: Path, key: str, max_side: int | None = None) -> ImagePart:
    """The image for `key` as an `ImagePart` with its media type.

    The file's bytes go as they are when its format is one APIs take and it fits `max_side`;
    otherwise it is re-encoded (JPEG, or PNG when it has transparency).
    """
    path = resolve_image(root, key)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: image not found") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            too_big = max_side is not None and max(image.size) > max_side
            if fmt in _MEDIA_TYPES and not too_big:
                return ImagePart(media_type=_MEDIA_TYPES[fmt], data=data)
            image.load()
            converted = image.copy()
    except OSError as exc:  # Pillow's UnidentifiedImageError is an OSError
        raise ImageError(f"{path}: not an image Pillow can read ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: refused, too many pixels ({exc})") from None
    if too_big and max_side is not None:
        converted.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if converted.mode in ("RGBA", "LA", "P"):
        converted.save(out, format="PNG")
        return ImagePart(media_type="image/png", data=out.getvalue())
    converted.convert("RGB").save(out, format="JPEG", quality=90)
    return ImagePart(media_type="image/jpeg", data=out.getvalue())
