"""Drawing helpers shared by the report's plots: loading matplotlib, a figure in the house
style, saving it atomically and deterministically, and the small naming, wrapping and colour
helpers the plots label themselves with.

matplotlib is imported only when a figure is drawn (`pip install 'eibench[report]'`). Figures
are built on the Agg canvas without pyplot, so no global figure list grows. Saved files leave
out metadata that would differ between runs or machines, so the same figure gives the same
bytes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eibench.atomic import atomic_path
from eibench.errors import EIBenchError
from eibench.slugs import slug

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = ("png", "svg", "pdf")
HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "++", "--")
# Metadata that would differ between runs or machines (dates, versions) is left out.
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
_STYLE: dict[str, Any] = {
    "svg.hashsalt": "eibench",  # stable ids inside SVG files
    "svg.fonttype": "none",  # text stays text: searchable, and no font paths to differ
    "pdf.fonttype": 42,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 0.6,
}
_PNG_DPI = 150


def load_matplotlib() -> Any:
    """The matplotlib package, with the submodules used here loaded."""
    try:
        import matplotlib
        import matplotlib.backends.backend_agg
        import matplotlib.figure
        import matplotlib.ticker
    except ImportError as e:
        raise EIBenchError("plots need matplotlib: pip install 'eibench[report]'") from e
    return matplotlib


@contextmanager
def new_figure(width: float, height: float) -> Iterator[tuple[Figure, Axes]]:
    """A figure on the Agg canvas in the house style; cleared on exit so it frees at once."""
    mpl = load_matplotlib()
    with mpl.rc_context(_STYLE):
        fig = mpl.figure.Figure(figsize=(width, height))
        mpl.backends.backend_agg.FigureCanvasAgg(fig)
        try:
            yield fig, fig.add_subplot()
        finally:
            fig.clear()


def save(fig: Figure, out_dir: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    """Write `fig` as `out_dir/stem.<format>` for each format, each file atomically."""
    written = []
    for fmt in formats:
        target = Path(out_dir) / f"{stem}.{fmt}"
        with atomic_path(target) as tmp:
            fig.savefig(
                tmp, format=fmt, metadata=_METADATA[fmt], bbox_inches="tight",
                dpi=_PNG_DPI if fmt == "png" else "figure",
            )  # fmt: skip
        written.append(target)
    return written


def check_formats(formats: Sequence[str]) -> None:
    """Raise `EIBenchError` for a format that is not one of `FORMATS`."""
    unknown = [f for f in formats if f not in _METADATA]
    if unknown:
        raise EIBenchError(f"unknown plot format {unknown[0]!r}: use {', '.join(FORMATS)}")


def palette(n: int) -> list[Any]:
    """`n` distinct colours (tab10, or tab20 beyond ten), cycling if there are more."""
    cmap = load_matplotlib().colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def wrap(text: str, width: int, *, hyphens: bool = True) -> str:
    """`text` in lines of at most `width`; `hyphens`: also break after hyphens (model names)."""
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=hyphens)) or text


def short_slug(text: str) -> str:
    """`text` as a short, lower-case file-name part (at most 60 characters, never empty)."""
    return slug(text.lower(), keep="a-z0-9.", trim="-.")[:60] or "x"


def unique(stem: str, taken: set[str]) -> str:
    """`stem`, or `stem-2`, `stem-3`, ... if it is in `taken`; the result is added to `taken`."""
    name, n = stem, 2
    while name in taken:
        name, n = f"{stem}-{n}", n + 1
    taken.add(name)
    return name


def short_names(specs: Iterable[str]) -> dict[str, str]:
    """Readable names for model specs: `openai:llava-hf/llava-v1.6-34b-hf` reads
    `llava-v1.6-34b-hf`, unless two specs would then read alike (then the scheme is dropped
    only, or the spec kept whole)."""
    distinct = list(dict.fromkeys(specs))

    def bare(spec: str) -> str:
        return spec.partition(":")[2] or spec

    def last(spec: str) -> str:
        return bare(spec).rstrip("/").rsplit("/", 1)[-1] or spec

    for shorten in (last, bare):
        names = {s: shorten(s) for s in distinct}
        if len(set(names.values())) == len(distinct):
            return names
    return {s: s for s in distinct}
