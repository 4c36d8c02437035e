"""One self-contained HTML report: tables, plots, run manifests and a sample browser.

The page makes no request of any kind: plots and thumbnails are data: URIs, the style sheet and
the script are inlined, and a Content-Security-Policy (`default-src 'none'`) admits only those
two inline blocks, by hash. Text from models and judges never becomes markup: the template
escapes it, the sample data travels as JSON the script reads with `JSON.parse`, and the script
builds the sample cards with `textContent` only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eibench.atomic import write_text
from eibench.data.categories import CATEGORY_LABELS, CATEGORY_ORDER
from eibench.errors import EIBenchError
from eibench.report.data import ReportData, SampleView, TableRow, TableView, VerdictView
from eibench.report.figures import Drawn

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

TEMPLATE = "report.html.j2"
PAGE_SIZE = 200  # sample cards rendered at once; "show more" adds as many again
# The plot formats that can be embedded, the preferred first: of one figure's files (the same
# picture in several formats), only the first format found here is shown.
PLOT_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
# A table cell that carries a 95% interval and n, as `tables` writes it with ci=True.
_INTERVAL = re.compile(r"\[[^\]]*\] n=\d+")
# Characters that could end the <script> element or start markup inside it, as JSON escapes.
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


@dataclass(frozen=True)
class Plot:
    """A plot ready to embed: its caption and its image as a data: URI."""

    caption: str
    uri: str


@dataclass(frozen=True)
class Block:
    """The rows of one table that share a setting block."""

    name: str
    rows: list[TableRow]


def render_html(
    report: ReportData,
    tables: Sequence[TableView],
    plots: Sequence[Drawn | Path],
    title: str = "eibench report",
) -> str:
    """The whole report as one HTML document that opens from disk with no server or network.

    `report` supplies the samples for the browser and the run manifests; `tables` are the
    formatted score tables, shown in order (build them with intervals, `ci=True`, to show
    them); `plots` are drawn figures (`plots.draw_plots`), shown with their captions, or image
    files (SVG, PNG, WebP, JPEG or GIF), captioned by their file stem. Each figure is shown
    once: of its files, or of files that differ only in their suffix, the SVG (else the PNG)
    is embedded. `title` heads the page.
    """
    template = _environment().get_template(TEMPLATE)
    style = _asset("report.css")
    script = _asset("report.js")
    csp = "; ".join(
        [
            "default-src 'none'",
            "img-src data:",
            f"style-src '{_sha256(style)}'",
            f"script-src '{_sha256(script)}'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    samples = report.samples
    return template.render(
        title=title,
        csp=csp,
        style=_trusted(style),
        script=_trusted(script),
        version=report.package_version,
        n_runs=len(
            {s.run for s in samples} | {str(m["run"]) for m in report.manifest if m.get("run")}
        ),
        n_distinct=len({(s.split, s.sample_id) for s in samples}),
        n_answers=len(samples),
        tables=[(table, _blocks(table.rows), _has_intervals(table)) for table in tables],
        plots=_plots(plots),
        manifests=[_manifest(i, entry) for i, entry in enumerate(report.manifest, 1)],
        categories=_categories(samples),
        models=sorted({s.model for s in samples}),
        settings=sorted({s.setting for s in samples}),
        page_size=PAGE_SIZE,
        payload=_trusted(sample_payload(samples)),
    )


def write_html(path: Path, html: str) -> None:
    """Write the rendered report `html` to `path`; a reader never sees a half-written file."""
    write_text(path, html)


def sample_payload(samples: Sequence[SampleView]) -> str:
    """The samples as JSON that is safe inside a `<script type="application/json">` element.

    Each thumbnail is stored once (runs over the same split share their images) and samples
    point at it by index. `<`, `>` and `&` are written as JSON escapes, so no answer can close
    the element or open markup; `JSON.parse` restores them.
    """
    images: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for s in samples:
        thumb = None
        if s.thumbnail:
            thumb = images.setdefault(s.thumbnail, len(images))
        rows.append(
            {
                "run": s.run,
                "model": s.model,
                "setting": s.setting,
                "split": s.split,
                "id": s.sample_id,
                "image": s.image,
                "category": s.category,
                "question": s.question,
                "answer": s.answer,
                "status": s.status,
                "judge": s.judge,
                "protocol": s.protocol,
                "recall": s.recall,
                "thumb": thumb,
                "triggers": [
                    {"text": t.text, "covered": t.covered, "evidence": t.evidence}
                    for t in s.triggers
                ],
                "verdicts": [
                    {
                        "judge": v.judge,
                        "protocol": v.protocol,
                        "status": v.status,
                        "recall": v.recall,
                        "covered": v.covered,
                    }
                    for v in _verdicts(s)
                ],
            }
        )
    text = json.dumps(
        {"images": list(images), "samples": rows}, ensure_ascii=False, separators=(",", ":")
    )
    return text.translate(_JSON_ESCAPES)


def _environment() -> jinja2.Environment:
    """A Jinja2 environment over the packaged templates, escaping every substitution."""
    try:
        import jinja2
    except ImportError:
        raise EIBenchError("the HTML report needs jinja2: pip install 'eibench[report]'") from None
    return jinja2.Environment(
        loader=jinja2.PackageLoader("eibench.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _trusted(text: str) -> Markup:
    """`text` marked as markup the template must not escape: only our own assets and the
    already-escaped JSON payload go through here, never model output."""
    from markupsafe import Markup

    return Markup(text)


def _asset(name: str) -> str:
    """A packaged template asset (the style sheet or the script) as text."""
    return resources.files("eibench.report").joinpath(f"templates/{name}").read_text("utf-8")


def _sha256(text: str) -> str:
    """The CSP source expression that admits an inline block whose content is exactly `text`."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _verdicts(s: SampleView) -> list[VerdictView]:
    """Every judging's verdict on `s`; for a view that names only its lead judging (no
    `verdicts`), that one, its marks taken from the triggers."""
    if s.verdicts or not s.judge:
        return list(s.verdicts)
    marks = [t.covered for t in s.triggers]
    return [
        VerdictView(
            judge=s.judge, protocol=s.protocol, status=s.status, recall=s.recall,
            covered=marks if any(m is not None for m in marks) else None,
        )
    ]  # fmt: skip


def _plots(plots: Sequence[Drawn | Path]) -> list[Plot]:
    """One embeddable plot per figure: a `Drawn` figure's preferred file with its caption; plain
    files that differ only in their suffix are one figure, captioned by their stem."""
    figures: dict[object, tuple[str, list[Path]]] = {}
    for i, item in enumerate(plots):
        if isinstance(item, Drawn):
            figures[i] = (item.caption, [Path(f) for f in item.files])
        else:
            path = Path(item)
            stem = path.with_suffix("")
            entry = figures.setdefault(stem, (path.stem.replace("_", " "), []))
            entry[1].append(path)
    return [_plot(_preferred(files), caption) for caption, files in figures.values() if files]


def _preferred(files: Sequence[Path]) -> Path:
    """The file of one figure to embed: the first of `PLOT_TYPES`' order, else the first file
    (which `_plot` then refuses by name)."""
    rank = {suffix: i for i, suffix in enumerate(PLOT_TYPES)}
    return min(files, key=lambda f: rank.get(f.suffix.lower(), len(rank)))


def _plot(path: Path, caption: str) -> Plot:
    """The plot file at `path` as an embeddable data: URI with its `caption`."""
    media = PLOT_TYPES.get(path.suffix.lower())
    if media is None:
        kinds = ", ".join(sorted(PLOT_TYPES))
        raise EIBenchError(f"{path}: cannot embed a plot of this type (use one of {kinds})")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise EIBenchError(f"{path}: cannot read plot ({error.strerror or error})") from None
    uri = f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"
    return Plot(caption=caption, uri=uri)


def _has_intervals(table: TableView) -> bool:
    """Whether any cell of `table` shows a 95% interval and n."""
    return any(_INTERVAL.search(cell) for row in table.rows for cell in row.cells)


def _blocks(rows: Sequence[TableRow]) -> list[Block]:
    """`rows` grouped by their setting block, blocks in order of first appearance."""
    groups: dict[str, list[TableRow]] = {}
    for row in rows:
        groups.setdefault(row.block, []).append(row)
    return [Block(name, members) for name, members in groups.items()]


def _manifest(index: int, entry: dict[str, Any]) -> tuple[str, str]:
    """A manifest entry's heading (its run name, else its position) and its pretty JSON."""
    name = entry.get("run")
    heading = str(name) if name else f"manifest {index}"
    return heading, json.dumps(entry, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _categories(samples: Sequence[SampleView]) -> list[str]:
    """The category filter's choices, named and ordered as the tables' columns: the four basic
    categories when any sample is from the basic split (its table lists them all), then the
    categories the samples have (`collect` names every complex-split sample's Complex)."""
    offered = {s.category for s in samples}
    if any(s.split == "basic" for s in samples):
        offered |= set(CATEGORY_LABELS.values())
    return _ordered(offered, CATEGORY_ORDER)


def _ordered(values: set[str], first: Sequence[str]) -> list[str]:
    """`values` with the members of `first` leading in that order, the rest sorted after."""
    return [v for v in first if v in values] + sorted(values - set(first))
