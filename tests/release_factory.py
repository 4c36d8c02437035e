"""Build small release folders and synthetic images for tests."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, PngImagePlugin


def write_release(
    root: Path, basic: dict[str, tuple[str, str]], complex_: list[tuple[str, str, str]]
) -> Path:
    """Write `EI_Basic/` from {key: (question, triggers)}, `EI_Complex/` from (key, q, triggers)."""
    (root / "EI_Basic").mkdir(parents=True)
    (root / "EI_Complex").mkdir(parents=True)
    (root / "EI_Basic/user.jsonl").write_text(
        "".join(json.dumps({k: q}) + "\n" for k, (q, _) in basic.items())
    )
    (root / "EI_Basic/basic_ground_truth.json").write_text(
        json.dumps({k: t for k, (_, t) in basic.items()}, indent=4)
    )
    (root / "EI_Complex/ec_complex.jsonl").write_text(
        "\n".join(json.dumps({k: {q: t}}) for k, q, t in complex_)
    )
    return root


def make_images(root: Path, keys: list[str], size: tuple[int, int] = (16, 12)) -> Path:
    """Write a small real image at each key (format from the extension), each file unique."""
    for i, key in enumerate(keys):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", size, (i * 37 % 256, 90, 160))
        if path.suffix.lower() in (".jpg", ".jpeg"):
            image.save(path, comment=key.encode())  # the key makes every file's bytes unique
        else:
            info = PngImagePlugin.PngInfo()
            info.add_text("key", key)
            image.save(path, pnginfo=info)
    return root
