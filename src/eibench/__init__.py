"""eibench: the Emotion Interpretation benchmark toolkit (EIBench, CVPR 2025 "Why We Feel")."""

from eibench.errors import DataError, EIBenchError

__version__ = "0.1.0"

__all__ = ["DataError", "EIBenchError", "__version__"]
