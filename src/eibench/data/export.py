"""Write samples as JSON Lines, Parquet, or a Hugging Face `datasets` folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from eibench.atomic import atomic_path, write_text
from eibench.data.images import resolve_image
from eibench.data.schema import SPLITS, Sample
from eibench.errors import EIBenchError

ExportFormat = Literal["jsonl", "parquet", "hf"]


def _records(samples: list[Sample]) -> list[dict[str, Any]]:
    return [sample.model_dump() for sample in samples]


def _need(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise EIBenchError(
            f"this export needs the {module!r} package: pip install 'eibench[{extra}]'"
        ) from None


def export_samples(
    samples: list[Sample], fmt: ExportFormat, out: Path, images: Path | None = None
) -> Path:
    """Write one record per sample (id, split, image, source, emotion, question, triggers).

    `hf` writes a `datasets.DatasetDict` with one dataset per split; given an image root it
    adds an `image_file` column that carries the image bytes. The output appears only when complete.
    """
    out = Path(out)
    if fmt == "jsonl":
        lines = (json.dumps(record, ensure_ascii=False) + "\n" for record in _records(samples))
        write_text(out, "".join(lines))
    elif fmt == "parquet":
        _need("pyarrow", "export")
        import pyarrow as pa
        import pyarrow.parquet as pq

        with atomic_path(out) as tmp:
            pq.write_table(pa.Table.from_pylist(_records(samples)), tmp)
    elif fmt == "hf":
        _export_hf(samples, out, images)
    else:
        raise EIBenchError(f"unknown export format {fmt!r} (jsonl, parquet or hf)")
    return out


def _export_hf(samples: list[Sample], out: Path, images: Path | None) -> None:
    datasets = _need("datasets", "export")
    splits = {}
    for split in SPLITS:
        records = _records([s for s in samples if s.split == split])
        if not records:
            continue
        if images is not None:
            for record in records:
                path = resolve_image(images, record["image"])
                if not path.is_file():
                    raise EIBenchError(f"{path}: image not found (from --images {images})")
                record["image_file"] = {"bytes": path.read_bytes(), "path": record["image"]}
        dataset = datasets.Dataset.from_list(records)
        if images is not None:
            dataset = dataset.cast_column("image_file", datasets.Image())
        splits[split] = dataset
    with atomic_path(out) as tmp:
        datasets.DatasetDict(splits).save_to_disk(str(tmp))
