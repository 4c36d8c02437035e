"""`eibench data export` and `export_samples`: JSON Lines, Parquet and Hugging Face folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from PIL import Image

from eibench.data import Sample, load_split
from eibench.data.export import export_samples
from eibench.errors import EIBenchError
from tests.cli import invoke
from tests.release_factory import make_images

FIELDS = ["id", "split", "image", "source", "emotion", "question", "triggers"]
BASIC, COMPLEX = 1615, 50


@pytest.fixture(scope="session")
def samples(release_dir: Path) -> list[Sample]:
    return [*load_split(release_dir, "basic").samples, *load_split(release_dir, "complex").samples]


@pytest.fixture(scope="session")
def expected(samples: list[Sample]) -> list[dict[str, object]]:
    return [s.model_dump() for s in samples]


def assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err
    for needle in needles:
        assert needle in lines[0], err


def listing(folder: Path) -> list[str]:
    """Everything directly in `folder`, hidden staging folders included."""
    return sorted(p.name for p in folder.iterdir())


# --- jsonl -----------------------------------------------------------------------------------


def test_jsonl_all(
    release_dir: Path,
    tmp_path: Path,
    expected: list[dict[str, object]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "eibench.jsonl"

    result = invoke(
        capsys, "data", "export", "--format", "jsonl", "--out", str(out), "--data", str(release_dir)
    )

    assert result.code == 0, result.err
    assert "wrote 1,665 samples" in result.err
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == BASIC + COMPLEX
    records = [json.loads(line) for line in lines]
    assert all(list(r) == FIELDS for r in records)
    assert len({r["id"] for r in records}) == len(records)
    assert sum(r["split"] == "basic" for r in records) == BASIC
    assert sum(r["split"] == "complex" for r in records) == COMPLEX
    assert all(isinstance(r["triggers"], list) and r["triggers"] for r in records)
    assert records == expected
    assert listing(tmp_path) == ["eibench.jsonl"]


def test_jsonl_complex_only(
    release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nested" / "complex.jsonl"

    result = invoke(
        capsys,
        "data",
        "export",
        "--format",
        "jsonl",
        "--out",
        str(out),
        "--data",
        str(release_dir),
        "--split",
        "complex",
    )

    assert result.code == 0, result.err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == COMPLEX
    assert {r["split"] for r in records} == {"complex"}
    assert len({r["id"] for r in records}) == COMPLEX


def test_jsonl_replaces_an_existing_file(tmp_path: Path, samples: list[Sample]) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n" * 5000)

    export_samples(samples[:3], "jsonl", out)

    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        s.id for s in samples[:3]
    ]
    assert listing(tmp_path) == ["out.jsonl"]


# --- parquet ---------------------------------------------------------------------------------


def test_parquet_all(
    release_dir: Path,
    tmp_path: Path,
    expected: list[dict[str, object]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "eibench.parquet"

    result = invoke(
        capsys,
        "data",
        "export",
        "--format",
        "parquet",
        "--out",
        str(out),
        "--data",
        str(release_dir),
    )

    assert result.code == 0, result.err
    table = pq.read_table(out)
    assert table.column_names == FIELDS
    assert table.num_rows == BASIC + COMPLEX
    assert table.to_pylist() == expected
    assert listing(tmp_path) == ["eibench.parquet"]


# --- Hugging Face datasets -------------------------------------------------------------------


def test_hf_all(
    release_dir: Path,
    tmp_path: Path,
    expected: list[dict[str, object]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "hf"

    result = invoke(
        capsys, "data", "export", "--format", "hf", "--out", str(out), "--data", str(release_dir)
    )

    assert result.code == 0, result.err
    loaded = datasets.load_from_disk(str(out))
    assert isinstance(loaded, datasets.DatasetDict)
    assert sorted(loaded) == ["basic", "complex"]
    assert loaded["basic"].num_rows == BASIC
    assert loaded["complex"].num_rows == COMPLEX
    for split in ("basic", "complex"):
        assert loaded[split].column_names == FIELDS
        assert set(loaded[split]["split"]) == {split}
        assert "image_file" not in loaded[split].column_names
    assert [*loaded["basic"], *loaded["complex"]] == expected
    assert listing(tmp_path) == ["hf"]


@pytest.fixture
def complex_images(release_dir: Path, tmp_path: Path) -> Path:
    """Synthetic 8x6 images at every complex-split key (JPEG, as the keys' extensions say)."""
    keys = sorted({s.image for s in load_split(release_dir, "complex").samples})
    return make_images(tmp_path / "images", keys, size=(8, 6))


def test_hf_with_images(
    release_dir: Path, complex_images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hf"

    result = invoke(
        capsys,
        "data",
        "export",
        "--format",
        "hf",
        "--out",
        str(out),
        "--data",
        str(release_dir),
        "--split",
        "complex",
        "--images",
        str(complex_images),
    )

    assert result.code == 0, result.err
    loaded = datasets.load_from_disk(str(out))
    assert sorted(loaded) == ["complex"]
    dataset = loaded["complex"]
    assert dataset.num_rows == COMPLEX
    assert dataset.column_names == [*FIELDS, "image_file"]
    assert isinstance(dataset.features["image_file"], datasets.Image)
    for row in dataset:
        image = row["image_file"]
        assert isinstance(image, Image.Image)
        assert image.size == (8, 6)
        assert image.format == "JPEG"
    # The bytes travel with the dataset: it still decodes once the image root is gone.
    for path in sorted(complex_images.rglob("*.jpg")):
        path.unlink()
    assert datasets.load_from_disk(str(out))["complex"][0]["image_file"].size == (8, 6)


def test_hf_missing_image(
    release_dir: Path, complex_images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = sorted(complex_images.rglob("*.jpg"))[-1]
    missing.unlink()
    out = tmp_path / "exports" / "hf"
    out.parent.mkdir()

    result = invoke(
        capsys,
        "data",
        "export",
        "--format",
        "hf",
        "--out",
        str(out),
        "--data",
        str(release_dir),
        "--split",
        "complex",
        "--images",
        str(complex_images),
    )

    assert result.code == 2
    assert_one_line_error(result.err, "image not found", missing.name)
    assert not out.exists()
    assert listing(out.parent) == []


def test_hf_replaces_an_existing_folder(tmp_path: Path, samples: list[Sample]) -> None:
    out = tmp_path / "hf"
    export_samples(samples, "hf", out)
    complex_only = [s for s in samples if s.split == "complex"]

    export_samples(complex_only[:5], "hf", out)

    loaded = datasets.load_from_disk(str(out))
    assert sorted(loaded) == ["complex"]
    assert loaded["complex"]["id"] == [s.id for s in complex_only[:5]]
    assert listing(tmp_path) == ["hf"]


# --- the output appears only when complete ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "hf"])
def test_parent_is_a_file(
    fmt: str, release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")

    result = invoke(
        capsys,
        "data",
        "export",
        "--format",
        fmt,
        "--out",
        str(blocker / "out"),
        "--data",
        str(release_dir),
        "--split",
        "complex",
    )

    assert result.code == 2
    assert_one_line_error(result.err, "blocker")
    assert blocker.read_text() == "not a folder"
    assert listing(tmp_path) == ["blocker"]


def test_jsonl_failure_while_writing_keeps_the_old_file(
    tmp_path: Path, samples: list[Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")

    def fail(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="No space left"):
        export_samples(samples, "jsonl", out)

    assert out.read_text() == "old\n"
    assert listing(tmp_path) == ["out.jsonl"]


def test_parquet_failure_while_writing_leaves_nothing(
    tmp_path: Path, samples: list[Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.parquet"

    def half_write(table: object, where: object, **kwargs: object) -> None:
        Path(str(where)).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", half_write)
    with pytest.raises(OSError, match="No space left"):
        export_samples(samples, "parquet", out)

    assert not out.exists()
    assert listing(tmp_path) == []


def test_hf_failure_while_saving_keeps_the_old_folder(
    tmp_path: Path, samples: list[Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "hf"
    complex_only = [s for s in samples if s.split == "complex"]
    export_samples(complex_only, "hf", out)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))

    def half_save(self: datasets.DatasetDict, path: str, **kwargs: object) -> None:
        Path(path).mkdir()
        (Path(path) / "dataset_dict.json").write_text('{"splits": ["basic"]}')
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(datasets.DatasetDict, "save_to_disk", half_save)
    with pytest.raises(OSError, match="No space left"):
        export_samples(samples, "hf", out)

    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert datasets.load_from_disk(str(out))["complex"].num_rows == COMPLEX
    assert listing(tmp_path) == ["hf"]


def test_unknown_format(tmp_path: Path, samples: list[Sample]) -> None:
    with pytest.raises(EIBenchError, match="unknown export format 'csv'"):
        export_samples(samples, "csv", tmp_path / "out.csv")  # type: ignore[arg-type]
    assert listing(tmp_path) == []


def test_cli_rejects_unknown_format(
    release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    result = invoke(
        capsys, "data", "export", "--format", "csv", "--out", str(out), "--data", str(release_dir)
    )
    assert result.code == 2
    assert "Traceback" not in result.err
    assert "csv" in result.err
    assert not out.exists()
