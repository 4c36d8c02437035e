"""Drawing helpers shared by the report's plots: loading matplotlib, a figure in the house
style, saving it atomically and deterministically, the record of a drawn figure (its caption and
files), grouped bars with interval whiskers, percent axes, a legend beside the plotting area, and
the small naming, wrapping and colour helpers the plots label themselves with.

matplotlib is imported only when a figure is drawn (`pip install 'eibench[report]'`). Figures
are built on the Agg canvas without pyplot, so no global figure list grows. Saved files leave
out metadata that would differ between runs or machines, so the same figure gives the same
bytes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eibench.atomic import atomic_path
from eibench.errors import EIBenchError
from eibench.slugs import slug

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from eibench.report.data import Cell

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


@dataclass(frozen=True)
class Drawn:
    """One figure as written: a caption that says in a sentence what it shows, and the figure's
    file in each format asked for (the same picture each time)."""

    caption: str
    files: tuple[Path, ...]


def files_of(drawn: Iterable[Drawn]) -> list[Path]:
    """Every file of `drawn`, figure by figure."""
    return [path for figure in drawn for path in figure.files]


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


@dataclass
class Series:
    """One legend entry of a bar chart: its cells by column."""

    key: tuple[int, ...]
    label: str
    values: dict[str, Cell] = field(default_factory=dict)
    color: Any = None
    hatch: str = ""


def series_of(entries: Iterable[tuple[Cell, str, tuple[int, ...], str]]) -> list[Series]:
    """Bar series from (cell, column, series key, series label) entries, sorted by key. Where
    one key has several runs in a column (repeated runs), the n-th run of each column goes to
    the key's n-th series, named by its run, so no measurement is dropped."""
    items = list(entries)
    runs: dict[tuple[tuple[int, ...], str], list[str]] = {}
    for c, column, key, _ in items:
        if c.run not in runs.setdefault((key, column), []):
            runs[key, column].append(c.run)
    repeated = {key for (key, _), names in runs.items() if len(names) > 1}
    series: dict[tuple[int, ...], Series] = {}
    members: dict[tuple[int, ...], set[str]] = {}
    for c, column, key, label in items:
        k = (*key, runs[key, column].index(c.run))
        series.setdefault(k, Series(k, label)).values[column] = c
        members.setdefault(k, set()).add(c.run)
    for k, s in series.items():
        if k[:-1] in repeated:
            only = sorted(members[k])
            s.label += f" [{only[0]}]" if len(only) == 1 else f" (run {k[-1] + 1})"
    return [series[k] for k in sorted(series)]


def grouped_bars(ax: Axes, columns: Sequence[str], series: Sequence[Series]) -> None:
    """Grouped bars with CI whiskers where a cell has both bounds."""
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        xs, ys, ex, ey, lo, hi = [], [], [], [], [], []
        for j, col in enumerate(columns):
            cell = s.values.get(col)
            if cell is None or cell.estimate is None:
                continue
            x, y = j - 0.4 + width * (i + 0.5), 100 * cell.estimate
            xs.append(x)
            ys.append(y)
            if cell.low is not None and cell.high is not None:
                ex.append(x)
                ey.append(y)
                lo.append(max(0.0, y - 100 * cell.low))
                hi.append(max(0.0, 100 * cell.high - y))
        ax.bar(
            xs, ys, width, label=wrap(s.label, 44, hyphens=False), color=s.color, hatch=s.hatch,
            edgecolor="white", linewidth=0.5, zorder=2,
        )  # fmt: skip
        if ex:
            ax.errorbar(
                ex, ey, yerr=[lo, hi], fmt="none", ecolor="black", elinewidth=0.8, capsize=2,
                zorder=3,
            )  # fmt: skip
    labels = [wrap(c, 18) for c in columns]
    long = any(len(c) > 12 for c in columns) or len(columns) > 6
    ax.set_xticks(
        range(len(columns)), labels, rotation=30 if long else 0, ha="right" if long else "center"
    )
    ax.set_xlim(-0.6, len(columns) - 0.4)
    percent_axis(ax, "y", "Mean per-sample recall (95% CI)")
    ax.grid(True, axis="y", alpha=0.3, zorder=0)


def percent_axis(ax: Axes, which: str, label: str) -> None:
    """A 0-100 % axis with `label`."""
    ticker = load_matplotlib().ticker
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_formatter(ticker.PercentFormatter(100))
    if which == "y":
        ax.set_ylim(0, 100)
        ax.set_ylabel(label)
    else:
        ax.set_xlim(0, 100)
        ax.set_xlabel(label)


def legend_beside(ax: Axes, title: str | None, **options: Any) -> None:
    """A legend headed `title` (None: no heading) to the right of the plotting area, where it
    covers nothing it explains; `options` go to `Axes.legend`."""
    ax.legend(
        **{"title": title, "loc": "upper left", "bbox_to_anchor": (1.02, 1), "frameon": False,
           "fontsize": 8, **options}
    )  # fmt: skip
