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
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eibench.atomic import write_text
from eibench.data.categories import CATEGORY_ORDER
from eibench.errors import EIBenchError
from eibench.report.data import ReportData, SampleView, TableRow, TableView

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

TEMPLATE = "report.html.j2"
PAGE_SIZE = 200  # sample cards rendered at once; "show more" adds as many again
PLOT_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
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
    plots: Sequence[Path],
    title: str = "eibench report",
) -> str:
    """The whole report as one HTML document that opens from disk with no server or network.

    `report` supplies the samples for the browser and the run manifests; `tables` are the
    formatted score tables, shown in order; `plots` are image files (SVG, PNG, JPEG, GIF or
    WebP), embedded in order with their file stem as caption; `title` heads the page.
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
        runs=sorted({s.run for s in samples}),
        tables=[(table, _blocks(table.rows)) for table in tables],
        plots=[_plot(path) for path in plots],
        manifests=[_manifest(i, entry) for i, entry in enumerate(report.manifest, 1)],
        n_samples=len(samples),
        categories=_ordered({s.category for s in samples}, CATEGORY_ORDER),
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


def _plot(path: Path) -> Plot:
    """The plot file at `path` as an embeddable data: URI, captioned by its file stem."""
    path = Path(path)
    media = PLOT_TYPES.get(path.suffix.lower())
    if media is None:
        kinds = ", ".join(sorted(PLOT_TYPES))
        raise EIBenchError(f"{path}: cannot embed a plot of this type (use one of {kinds})")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise EIBenchError(f"{path}: cannot read plot ({error.strerror or error})") from None
    uri = f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"
    return Plot(caption=path.stem.replace("_", " "), uri=uri)


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


def _ordered(values: set[str], first: Sequence[str]) -> list[str]:
    """`values` with the members of `first` leading in that order, the rest sorted after."""
    return [v for v in first if v in values] + sorted(values - set(first))
