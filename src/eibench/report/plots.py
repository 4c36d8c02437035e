"""Figures for a report: recall by category, settings compared, recall against cost, and judge
agreement. Each plot writes one file per format into a folder and returns the paths; a plot with
nothing to show writes nothing. Files are deterministic: the same data gives the same bytes.

matplotlib is imported only when there is something to draw (`pip install 'eibench[report]'`);
the generic drawing and saving helpers live in `eibench.report.figures`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eibench.data.categories import CATEGORY_ORDER, OVERALL
from eibench.errors import EIBenchError
from eibench.metrics.agreement import pearson
from eibench.report.data import SETTING_LABELS, AgreementPair, Cell, CostPoint, ReportData
from eibench.report.figures import (
    FORMATS,
    HATCHES,
    check_formats,
    load_matplotlib,
    new_figure,
    palette,
    save,
    short_names,
    short_slug,
    unique,
    wrap,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "FORMATS",
    "make_plots",
    "plot_agreement",
    "plot_categories",
    "plot_cost",
    "plot_settings",
    "short_names",
]


def make_plots(
    report: ReportData, out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Write every plot `report` has data for into `out_dir`.

    `out_dir` is created if needed; `formats` are file types (png, svg, pdf), each plot is
    written once per format. Returns the written files in a stable order; an empty report
    writes nothing and returns []. The plot functions below take `out_dir` and `formats` alike.
    """
    check_formats(formats)
    return [
        *plot_categories(report.cells, out_dir, formats),
        *plot_settings(report.cells, out_dir, formats),
        *plot_cost(report.costs, out_dir, formats),
        *plot_agreement(report.agreement, out_dir, formats),
    ]


def plot_categories(
    cells: Sequence[Cell], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Per-category recall on the basic split: one group of bars per category, one bar per
    model and setting (colour: model, hatching: setting), 95% CI whiskers. One figure per
    protocol (per protocol and judge when a protocol has several judges). Published cells and
    cells without an estimate are left out."""
    check_formats(formats)
    measured = [c for c in _measured(cells) if c.split == "basic"]
    written: list[Path] = []
    for suffix, judging, group in _by_judging(measured):
        categories = _ordered({c.category for c in group}, CATEGORY_ORDER)
        models = _ordered({c.model for c in group}, [c.model for c in group])
        settings = _ordered({c.setting for c in group}, SETTING_LABELS.values())
        names = short_names(models)
        series = _series(
            (c, c.category, (models.index(c.model), settings.index(c.setting)),
             f"{names[c.model]} · {c.setting}")
            for c in group
        )  # fmt: skip
        colors = palette(len(models))
        for s in series:
            s.color = colors[s.key[0]]
            s.hatch = HATCHES[s.key[1] % len(HATCHES)]
        width = min(24.0, max(7.0, 1.5 + len(categories) * (0.3 * len(series) + 0.5)))
        with new_figure(width, 4.2) as (fig, ax):
            _bars(ax, categories, series)
            ax.set_title(f"Recall by emotion category (basic split)\n{judging}")
            ax.set_xlabel("Emotion category")
            _legend(ax, "Model · setting")
            written += save(fig, out_dir, f"recall_by_category_{suffix}", formats)
    return written


def plot_settings(
    cells: Sequence[Cell], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Overall recall (basic split) of each setting, grouped by model, with 95% CI whiskers.
    One figure per protocol (per protocol and judge when a protocol has several judges)."""
    check_formats(formats)
    overall = [c for c in _measured(cells) if c.split == "basic" and c.category == OVERALL]
    written: list[Path] = []
    for suffix, judging, group in _by_judging(overall):
        models = _ordered({c.model for c in group}, [c.model for c in group])
        settings = _ordered({c.setting for c in group}, SETTING_LABELS.values())
        names = short_names(models)
        series = _series(
            (c, names[c.model], (settings.index(c.setting),), c.setting) for c in group
        )
        colors = palette(len(settings))
        for s in series:
            s.color = colors[s.key[0]]
        columns = [names[m] for m in models]
        width = min(24.0, max(6.0, 1.5 + len(models) * (0.35 * len(series) + 0.6)))
        with new_figure(width, 4.4) as (fig, ax):
            _bars(ax, columns, series)
            ax.set_title(f"Overall recall by setting (basic split)\n{judging}")
            ax.set_xlabel("Model")
            _legend(ax, "Setting")
            written += save(fig, out_dir, f"recall_by_setting_{suffix}", formats)
    return written


def plot_cost(
    costs: Sequence[CostPoint], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Overall recall against what a run cost, one figure per protocol. The x axis is money
    (USD) when every point has a cost, else tokens (input + output). Points without a recall,
    and offline runs (no tokens, no cost), are left out; nothing is written if none remain."""
    check_formats(formats)
    points = [p for p in costs if p.recall is not None and (p.tokens > 0 or p.cost is not None)]
    written: list[Path] = []
    for protocol in dict.fromkeys(p.protocol for p in points):
        group = [p for p in points if p.protocol == protocol]
        money = all(p.cost is not None for p in group)
        xs = [float(p.cost if money and p.cost is not None else p.tokens) for p in group]
        ys = [100 * (p.recall or 0.0) for p in group]
        names = short_names(dict.fromkeys(p.model for p in group))
        settings = _ordered({p.setting for p in group}, SETTING_LABELS.values())
        mpl = load_matplotlib()
        colors = palette(len(settings))
        with new_figure(7.0, 4.6) as (fig, ax):
            for i, setting in enumerate(settings):
                mine = [j for j, p in enumerate(group) if p.setting == setting]
                ax.scatter(
                    [xs[j] for j in mine], [ys[j] for j in mine], color=colors[i],
                    label=setting, s=36, zorder=3, edgecolors="black", linewidths=0.4,
                )  # fmt: skip
            for x, y, p in zip(xs, ys, group, strict=True):
                ax.annotate(
                    names[p.model], (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7
                )
            positive = [x for x in xs if x > 0]
            if len(positive) == len(xs) and max(xs) >= 100 * min(xs):
                ax.set_xscale("log")
            elif not money:
                ax.xaxis.set_major_formatter(mpl.ticker.EngFormatter())
            ax.set_xlabel("Cost (USD)" if money else "Tokens (input + output)")
            _percent_axis(ax, "y", "Overall recall")
            ax.set_ylim(-3, 103)  # room for markers at 0% and 100%
            ax.grid(True, alpha=0.3)
            what = "cost" if money else "tokens used"
            ax.set_title(f"Overall recall against {what}\n{protocol} protocol")
            _legend(ax, "Setting")
            written += save(fig, out_dir, f"recall_vs_cost_{short_slug(protocol)}", formats)
    return written


def plot_agreement(
    pairs: Sequence[AgreementPair], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Per-sample recall of judging A against judging B on the same samples, with the y = x
    line and Pearson's r in the title; one figure per pair. Marker area grows with the number
    of samples at a point (recall takes few values, so points coincide). Empty pairs are
    skipped. Pairs of unequal length are an error."""
    check_formats(formats)
    written: list[Path] = []
    stems: set[str] = set()
    for pair in pairs:
        if len(pair.a) != len(pair.b):
            raise EIBenchError(
                f"agreement pair {pair.judging_a} / {pair.judging_b} on run {pair.run!r} has "
                f"{len(pair.a)} and {len(pair.b)} values: they must score the same samples"
            )
        if not pair.a:
            continue
        r = pearson(pair.a, pair.b)
        counts = sorted(Counter(zip(pair.a, pair.b, strict=True)).items())
        with new_figure(5.2, 5.2) as (fig, ax):
            ax.plot([0, 100], [0, 100], linestyle="--", color="0.5", linewidth=1, label="y = x")
            ax.scatter(
                [100 * a for (a, _), _ in counts], [100 * b for (_, b), _ in counts],
                s=[12 + 18 * n for _, n in counts], alpha=0.6, color="tab:blue",
                edgecolors="black", linewidths=0.4, zorder=3, label="samples (area: count)",
            )  # fmt: skip
            _percent_axis(ax, "x", wrap(pair.judging_a, 50, hyphens=False))
            _percent_axis(ax, "y", wrap(pair.judging_b, 50, hyphens=False))
            ax.set_xlim(-3, 103)
            ax.set_ylim(-3, 103)
            ax.set_aspect("equal")
            ax.grid(True, alpha=0.3)
            shown = "n/a (constant scores)" if math.isnan(r) else f"{r:.3f}"
            ax.set_title(
                f"{wrap('Judge agreement on ' + pair.run, 50, hyphens=False)}\n"
                f"Pearson r = {shown} (n = {len(pair.a)})"
            )
            ax.legend(loc="upper left", fontsize=7, frameon=False)
            stem = unique(
                f"judge_agreement_{short_slug(pair.run)}_{short_slug(pair.judging_a)}"
                f"_vs_{short_slug(pair.judging_b)}",
                stems,
            )
            written += save(fig, out_dir, stem, formats)
    return written


@dataclass
class _Series:
    """One legend entry of a bar chart: its cells by column."""

    key: tuple[int, ...]
    label: str
    values: dict[str, Cell] = field(default_factory=dict)
    color: Any = None
    hatch: str = ""


def _series(entries: Iterable[tuple[Cell, str, tuple[int, ...], str]]) -> list[_Series]:
    """Bar series from (cell, column, series key, series label) entries, sorted by key. Where
    one key has several runs in a column (repeated runs), the n-th run of each column goes to
    the key's n-th series, named by its run, so no measurement is dropped."""
    items = list(entries)
    runs: dict[tuple[tuple[int, ...], str], list[str]] = {}
    for c, column, key, _ in items:
        if c.run not in runs.setdefault((key, column), []):
            runs[key, column].append(c.run)
    repeated = {key for (key, _), names in runs.items() if len(names) > 1}
    series: dict[tuple[int, ...], _Series] = {}
    members: dict[tuple[int, ...], set[str]] = {}
    for c, column, key, label in items:
        k = (*key, runs[key, column].index(c.run))
        series.setdefault(k, _Series(k, label)).values[column] = c
        members.setdefault(k, set()).add(c.run)
    for k, s in series.items():
        if k[:-1] in repeated:
            only = sorted(members[k])
            s.label += f" [{only[0]}]" if len(only) == 1 else f" (run {k[-1] + 1})"
    return [series[k] for k in sorted(series)]


def _bars(ax: Axes, columns: Sequence[str], series: Sequence[_Series]) -> None:
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
    _percent_axis(ax, "y", "Mean per-sample recall (95% CI)")
    ax.grid(True, axis="y", alpha=0.3, zorder=0)


def _percent_axis(ax: Axes, which: str, label: str) -> None:
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


def _legend(ax: Axes, title: str) -> None:
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)


def _measured(cells: Sequence[Cell]) -> list[Cell]:
    return [c for c in cells if not c.published and c.estimate is not None]


def _by_judging(cells: Sequence[Cell]) -> Iterator[tuple[str, str, list[Cell]]]:
    """(file-name suffix, title line, cells) per protocol, split by judge where a protocol has
    several judges."""
    for protocol in dict.fromkeys(c.protocol for c in cells):
        mine = [c for c in cells if c.protocol == protocol]
        judges = list(dict.fromkeys(c.judge for c in mine))
        for judge in judges:
            suffix = short_slug(protocol)
            if len(judges) > 1:
                suffix += f"_{short_slug(judge)}"
            title = f"{protocol} protocol, judge {judge}" if judge else f"{protocol} protocol"
            yield suffix, title, [c for c in mine if c.judge == judge]


def _ordered(values: set[str], preferred: Any) -> list[str]:
    """`values` in the order of `preferred` (an iterable), any others after in sorted order."""
    first = [v for v in dict.fromkeys(preferred) if v in values]
    return first + sorted(values - set(first))
