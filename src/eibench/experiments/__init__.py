"""Experiment grids: one YAML file runs models x settings x splits and judges them.

The names below are imported on first use, so that `eibench.experiments.config` (the file
format, which the CLI's shared options read) does not bring in the whole job engine."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eibench.experiments.config import Grid, bundled, load_grid
    from eibench.experiments.grid import GridSummary, run_grid

__all__ = ["Grid", "GridSummary", "bundled", "load_grid", "run_grid"]

_MODULES = {
    "Grid": "config",
    "bundled": "config",
    "load_grid": "config",
    "GridSummary": "grid",
    "run_grid": "grid",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
