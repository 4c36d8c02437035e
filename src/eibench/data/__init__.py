"""The EIBench release: download, loading into `Sample` records, validation, images, export."""

from eibench.data.images import ImageError, open_image, resolve_image
from eibench.data.load import Dataset, load_basic, load_complex, load_split
from eibench.data.release import default_cache_dir, resolve_data_dir
from eibench.data.schema import BASIC_EMOTIONS, SPLITS, Finding, Sample, Split, sample_id
from eibench.data.triggers import parse_triggers

__all__ = [
    "BASIC_EMOTIONS",
    "SPLITS",
    "Dataset",
    "Finding",
    "ImageError",
    "Sample",
    "Split",
    "default_cache_dir",
    "load_basic",
    "load_complex",
    "load_split",
    "open_image",
    "parse_triggers",
    "resolve_data_dir",
    "resolve_image",
    "sample_id",
]
