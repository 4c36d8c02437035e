"""Experiment grids: one YAML file runs models x settings x splits and judges them."""

from eibench.experiments.config import Grid, bundled, load_grid
from eibench.experiments.grid import GridSummary, run_grid

__all__ = ["Grid", "GridSummary", "bundled", "load_grid", "run_grid"]
