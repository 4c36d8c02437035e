"""Image access stays inside the root; `data check` reports warnings and errors with exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eibench.data import ImageError, open_image, resolve_image
from tests.cli import invoke
from tests.release_factory import make_images, write_release

CLEAN_BASIC = {
    "CAER-S/train/Happy/0001.png": ("Why is the woman smiling?", "1. A gift.\n2. Friends."),
    "EmoSet-118k/image/sadness/sadness_00001.jpg": ("Why is he sad?", "1. Rain.\n2. Alone."),
}
CLEAN_COMPLEX = [
    ("EmoSet-118k/image/fear/fear_00001.jpg", "Why is the child afraid?", "1. Dark room."),
    ("EmoSet-118k/image/fear/fear_00001.jpg", "Why is the adult calm?", "1. A torch."),
]
KEYS = [*CLEAN_BASIC, CLEAN_COMPLEX[0][0]]


@pytest.fixture
def clean_release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "data", CLEAN_BASIC, CLEAN_COMPLEX)


def test_resolve_image_joins_root_and_key(tmp_path: Path) -> None:
    assert (
        resolve_image(tmp_path, "CAER-S/train/Happy/1.png")
        == tmp_path.resolve() / "CAER-S/train/Happy/1.png"
    )


@pytest.mark.parametrize("key", ["../x.png", "a/../../x.png", "/etc/passwd", "", "C:\\x.png"])
def test_resolve_image_refuses_keys_that_escape(tmp_path: Path, key: str) -> None:
    with pytest.raises(ImageError):
        resolve_image(tmp_path, key)


def test_resolve_image_refuses_symlinks_out_of_the_root(tmp_path: Path) -> None:
    outside = make_images(tmp_path / "outside", ["secret.png"])
    root = tmp_path / "root"
    (root / "CAER-S").mkdir(parents=True)
    os.symlink(outside / "secret.png", root / "CAER-S/link.png")
    with pytest.raises(ImageError, match="outside the image root"):
        resolve_image(root, "CAER-S/link.png")


def test_open_image_reads_the_file(tmp_path: Path) -> None:
    make_images(tmp_path, ["CAER-S/train/Happy/0001.png"], size=(20, 10))
    with open_image(tmp_path, "CAER-S/train/Happy/0001.png") as image:
        assert image.size == (20, 10)
    with pytest.raises(ImageError, match="not found"):
        open_image(tmp_path, "CAER-S/train/Happy/missing.png")


def test_check_of_a_clean_release_with_all_images_exits_0(
    capsys, clean_release: Path, tmp_path: Path
) -> None:
    images = make_images(tmp_path / "images", KEYS)
    result = invoke(capsys, "data", "check", "--data", str(clean_release), "--images", str(images))
    assert result.code == 0, result.out
    assert "0 error(s), 0 warning(s)" in result.err


def test_check_reports_missing_corrupt_and_escaping_images(
    capsys, clean_release: Path, tmp_path: Path
) -> None:
    images = make_images(tmp_path / "images", [CLEAN_COMPLEX[0][0]])
    corrupt = images / "CAER-S/train/Happy/0001.png"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not an image at all")
    outside = make_images(tmp_path / "outside", ["x.jpg"])
    link = images / "EmoSet-118k/image/sadness/sadness_00001.jpg"
    link.parent.mkdir(parents=True)
    os.symlink(outside / "x.jpg", link)
    result = invoke(
        capsys, "data", "check", "--data", str(clean_release), "--images", str(images), "--json"
    )
    assert result.code == 2
    findings = [json.loads(line) for line in result.out.splitlines()]
    errors = {f["where"]: f["message"] for f in findings if f["level"] == "error"}
    assert set(errors) == {
        "CAER-S/train/Happy/0001.png",
        "EmoSet-118k/image/sadness/sadness_00001.jpg",
    }
    assert "Pillow" in errors["CAER-S/train/Happy/0001.png"]
    assert "outside the image root" in errors["EmoSet-118k/image/sadness/sadness_00001.jpg"]


def test_check_of_the_release_warns_about_known_oddities(capsys, release_dir: Path) -> None:
    result = invoke(capsys, "data", "check", "--data", str(release_dir), "--json")
    assert result.code == 1
    findings = [json.loads(line) for line in result.out.splitlines()]
    assert all(f["level"] == "warning" for f in findings)
    text = "\n".join(f"{f['where']} {f['message']}" for f in findings)
    assert "CAER-S/train/Angry/1074.png question looks like a model refusal" in text
    assert text.count("does not end with '?'") == 4
    assert text.count("stray '") == 3
    assert text.count("dropped 1 empty trigger item") == 2


def test_check_warns_about_duplicate_triggers(capsys, tmp_path: Path) -> None:
    basic = {"CAER-S/train/Happy/0001.png": ("Why happy?", "1. A gift.\n2. a gift\n3. Friends.")}
    data = write_release(tmp_path / "data", basic, CLEAN_COMPLEX)
    result = invoke(capsys, "data", "check", "--data", str(data))
    assert result.code == 1
    assert "duplicate trigger 'a gift'" in result.out
