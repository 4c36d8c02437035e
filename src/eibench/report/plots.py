"""Figures for a report: recall by category, settings compared, recall against cost, and judge
agreement. Each plot writes one file per format into a folder; a plot with nothing to show
writes nothing. `draw_plots` returns each figure with a caption (what it shows, in a sentence)
and its files; `make_plots` and the `plot_*` functions return the files only. Files are
deterministic: the same data gives the same bytes.

matplotlib is imported only when there is something to draw (`pip install 'eibench[report]'`);
the generic drawing and saving helpers live in `eibench.report.figures`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eibench.data.categories import CATEGORY_ORDER, OVERALL
from eibench.errors import EIBenchError
from eibench.metrics.agreement import pearson
from eibench.report.data import SETTING_LABELS, AgreementPair, Cell, CostPoint, ReportData
from eibench.report.figures import (
    FORMATS,
    HATCHES,
    Drawn,
    check_formats,
    files_of,
    grouped_bars,
    legend_beside,
    load_matplotlib,
    new_figure,
    palette,
    percent_axis,
    save,
    series_of,
    short_names,
    short_slug,
    unique,
    wrap,
)

__all__ = [
    "FORMATS",
    "Drawn",
    "draw_plots",
    "make_plots",
    "plot_agreement",
    "plot_categories",
    "plot_cost",
    "plot_settings",
    "short_names",
]


def draw_plots(
    report: ReportData, out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Drawn]:
    """Write every plot `report` has data for into `out_dir`; each figure with its caption.

    `out_dir` is created if needed; `formats` are file types (png, svg, pdf), each figure is
    written once per format. Figures come in a stable order; an empty report writes nothing
    and returns []. The functions below take `out_dir` and `formats` alike.
    """
    check_formats(formats)
    return [
        *category_figures(report.cells, out_dir, formats),
        *setting_figures(report.cells, out_dir, formats),
        *cost_figures(report.costs, out_dir, formats),
        *agreement_figures(report.agreement, out_dir, formats),
    ]


def make_plots(
    report: ReportData, out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """The files `draw_plots` writes, figure by figure."""
    return files_of(draw_plots(report, out_dir, formats))


def plot_categories(
    cells: Sequence[Cell], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """The files of `category_figures`."""
    return files_of(category_figures(cells, out_dir, formats))


def plot_settings(
    cells: Sequence[Cell], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """The files of `setting_figures`."""
    return files_of(setting_figures(cells, out_dir, formats))


def plot_cost(
    costs: Sequence[CostPoint], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """The files of `cost_figures`."""
    return files_of(cost_figures(costs, out_dir, formats))


def plot_agreement(
    pairs: Sequence[AgreementPair], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """The files of `agreement_figures`."""
    return files_of(agreement_figures(pairs, out_dir, formats))


def category_figures(
    cells: Sequence[Cell], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Drawn]:
    """Per-category recall on the basic split: one group of bars per category, one bar per
    model and setting (colour: model, hatching: setting), 95% CI whiskers. One figure per
    protocol (per protocol and judge when a protocol has several judges). Published cells and
    cells without an estimate are left out."""
    check_formats(formats)
    measured = [c for c in _measured(cells) if c.split == "basic"]
    drawn: list[Drawn] = []
    for suffix, judging, group in _by_judging(measured):
        categories = _ordered({c.category for c in group}, CATEGORY_ORDER)
        models = _ordered({c.model for c in group}, [c.model for c in group])
        settings = _ordered({c.setting for c in group}, SETTING_LABELS.values())
        names = short_names(models)
        series = series_of(
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
            grouped_bars(ax, categories, series)
            ax.set_title(f"Recall by emotion category (basic split)\n{judging.title}")
            ax.set_xlabel("Emotion category")
            legend_beside(ax, "Model · setting")
            files = save(fig, out_dir, f"recall_by_category_{suffix}", formats)
        caption = (
            "Mean per-sample recall on each emotion category of the basic split, one bar per "
            f"model and setting, with 95% intervals; {judging.sentence}."
        )
        drawn.append(Drawn(caption, tuple(files)))
    return drawn


def setting_figures(
    cells: Sequence[Cell], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Drawn]:
    """Overall recall (basic split) of each setting, grouped by model, with 95% CI whiskers.
    One figure per protocol (per protocol and judge when a protocol has several judges)."""
    check_formats(formats)
    overall = [c for c in _measured(cells) if c.split == "basic" and c.category == OVERALL]
    drawn: list[Drawn] = []
    for suffix, judging, group in _by_judging(overall):
        models = _ordered({c.model for c in group}, [c.model for c in group])
        settings = _ordered({c.setting for c in group}, SETTING_LABELS.values())
        names = short_names(models)
        series = series_of(
            (c, names[c.model], (settings.index(c.setting),), c.setting) for c in group
        )
        colors = palette(len(settings))
        for s in series:
            s.color = colors[s.key[0]]
        columns = [names[m] for m in models]
        width = min(24.0, max(6.0, 1.5 + len(models) * (0.35 * len(series) + 0.6)))
        with new_figure(width, 4.4) as (fig, ax):
            grouped_bars(ax, columns, series)
            ax.set_title(f"Overall recall by setting (basic split)\n{judging.title}")
            ax.set_xlabel("Model")
            legend_beside(ax, "Setting")
            files = save(fig, out_dir, f"recall_by_setting_{suffix}", formats)
        caption = (
            "Overall recall on the basic split of each model under each prompt setting, with "
            f"95% intervals; {judging.sentence}."
        )
        drawn.append(Drawn(caption, tuple(files)))
    return drawn


def cost_figures(
    costs: Sequence[CostPoint], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Drawn]:
    """Overall recall against what a run cost, one figure per protocol. The x axis is money
    (USD) when every point has a cost, else tokens (input + output). Points without a recall,
    and offline runs (no tokens, no cost), are left out; nothing is written if none remain."""
    check_formats(formats)
    points = [p for p in costs if p.recall is not None and (p.tokens > 0 or p.cost is not None)]
    drawn: list[Drawn] = []
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
            percent_axis(ax, "y", "Overall recall")
            ax.set_ylim(-3, 103)  # room for markers at 0% and 100%
            ax.grid(True, alpha=0.3)
            what = "cost" if money else "tokens used"
            ax.set_title(f"Overall recall against {what}\n{protocol} protocol")
            legend_beside(ax, "Setting")
            files = save(fig, out_dir, f"recall_vs_cost_{short_slug(protocol)}", formats)
        spent = "its cost in US dollars" if money else "the tokens it used (input + output)"
        caption = (
            f"Each run's overall recall against {spent}, coloured by setting; scored "
            f"under the {protocol} protocol."
        )
        drawn.append(Drawn(caption, tuple(files)))
    return drawn


def agreement_figures(
    pairs: Sequence[AgreementPair], out_dir: Path, formats: Sequence[str] = ("png", "svg")
) -> list[Drawn]:
    """Per-sample recall of judging A against judging B on the same samples, with the y = x
    line and Pearson's r in the title; one figure per pair. Marker area grows with the number
    of samples at a point (recall takes few values, so points coincide); the legend, with a
    key to the marker areas, sits beside the plotting area so it hides no point. Empty pairs
    are skipped. Pairs of unequal length are an error."""
    check_formats(formats)
    drawn: list[Drawn] = []
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
            ax.plot(
                [0, 100], [0, 100], linestyle="--", color="0.5", linewidth=1, label="y = x (agree)"
            )
            ax.scatter(
                [100 * a for (a, _), _ in counts], [100 * b for (_, b), _ in counts],
                s=[_area(n) for _, n in counts], alpha=0.6, color="tab:blue",
                edgecolors="black", linewidths=0.4, zorder=3,
            )  # fmt: skip
            for n in _key_counts([n for _, n in counts]):
                ax.scatter(
                    [], [], s=_area(n), alpha=0.6, color="tab:blue", edgecolors="black",
                    linewidths=0.4, label=f"{n} sample{'' if n == 1 else 's'}",
                )  # fmt: skip
            percent_axis(ax, "x", wrap(pair.judging_a, 50, hyphens=False))
            percent_axis(ax, "y", wrap(pair.judging_b, 50, hyphens=False))
            ax.set_xlim(-3, 103)
            ax.set_ylim(-3, 103)
            ax.set_aspect("equal")
            ax.grid(True, alpha=0.3)
            shown = "n/a (constant scores)" if math.isnan(r) else f"{r:.3f}"
            ax.set_title(
                f"{wrap('Judge agreement on ' + pair.run, 50, hyphens=False)}\n"
                f"Pearson r = {shown} (n = {len(pair.a)})"
            )
            legend_beside(ax, None, fontsize=7, labelspacing=1.2)
            stem = unique(
                f"judge_agreement_{short_slug(pair.run)}_{short_slug(pair.judging_a)}"
                f"_vs_{short_slug(pair.judging_b)}",
                stems,
            )
            files = save(fig, out_dir, stem, formats)
        caption = (
            f"How two judgings score the same {len(pair.a)} answers of run {pair.run}: each "
            f"bubble places a sample's recall by {pair.judging_a} (across) against its recall "
            f"by {pair.judging_b} (up), its area counting the samples there; bubbles on the "
            f"dashed diagonal are samples the two agree on (Pearson r = {shown})."
        )
        drawn.append(Drawn(caption, tuple(files)))
    return drawn


def _area(n: int) -> float:
    """Marker area (points²) of an agreement bubble that stands for `n` samples."""
    return 12 + 18 * n


def _key_counts(counts: Sequence[int]) -> list[int]:
    """Sample counts for the bubble-area key: the least, the most, and one between."""
    low, high = min(counts), max(counts)
    return sorted({low, (low + high) // 2, high})


def _measured(cells: Sequence[Cell]) -> list[Cell]:
    return [c for c in cells if not c.published and c.estimate is not None]


@dataclass(frozen=True)
class _Judging:
    protocol: str
    judge: str

    @property
    def title(self) -> str:
        """A figure's title line."""
        if self.judge:
            return f"{self.protocol} protocol, judge {self.judge}"
        return f"{self.protocol} protocol"

    @property
    def sentence(self) -> str:
        """The judging as the end of a caption's sentence."""
        if self.judge:
            return f"judged by {self.judge} under the {self.protocol} protocol"
        return f"judged under the {self.protocol} protocol"


def _by_judging(cells: Sequence[Cell]) -> Iterator[tuple[str, _Judging, list[Cell]]]:
    """(file-name suffix, judging, cells) per protocol, split by judge where a protocol has
    several judges."""
    for protocol in dict.fromkeys(c.protocol for c in cells):
        mine = [c for c in cells if c.protocol == protocol]
        judges = list(dict.fromkeys(c.judge for c in mine))
        for judge in judges:
            suffix = short_slug(protocol)
            if len(judges) > 1:
                suffix += f"_{short_slug(judge)}"
            yield suffix, _Judging(protocol, judge), [c for c in mine if c.judge == judge]


def _ordered(values: set[str], preferred: Any) -> list[str]:
    """`values` in the order of `preferred` (an iterable), any others after in sorted order."""
    first = [v for v in dict.fromkeys(preferred) if v in values]
    return first + sorted(values - set(first))
