"""The self-contained HTML report: what the markup holds, and how the page behaves in Chromium."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterator
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from eibench.data.categories import BASIC_COLUMNS
from eibench.errors import EIBenchError
from eibench.report.data import (
    AgreementPair,
    Cell,
    ReportData,
    SampleView,
    TableRow,
    TableView,
    TriggerView,
    VerdictView,
)
from eibench.report.figures import Drawn
from eibench.report.html import PAGE_SIZE, render_html, sample_payload, write_html
from eibench.report.render import render_report
from eibench.report.tables import build_tables
from tests.browser import WatchedPage, chromium_fixture, open_page  # noqa: F401 (fixture)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CATEGORIES = ["Happy", "Angry", "Sadness", "Excitement"]
MODELS = ["model-a", "model-b", "model-c"]
SETTINGS = ["User Question", "User Question & CoT"]
N_PLAIN = 360
SCRIPT_ANSWER = "<script>window.__pwned = 1</script>"
IMG_QUESTION = '<img src=x onerror="window.__pwned=2"> why so sad?'
IMG_TRIGGER = '<img src=x onerror="window.__pwned=3">'
SCRIPT_EVIDENCE = "</script><script>window.__pwned = 4</script><!--"
EVIL_MODEL = '<img src=x onerror="window.__pwned=5">'
EVIL_RUN = "run</pre><script>window.__pwned = 6</script>"
OUTSIDE = '<img src="http://evil.example/x.png"><a href="https://evil.example/">x</a>'


def png_uri(colour: tuple[int, int, int] = (200, 40, 40)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), colour).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


THUMB = png_uri()


def plain_sample(i: int) -> SampleView:
    covered = [i % 2 == 0, i % 3 == 0, None if i % 7 == 0 else False]
    return SampleView(
        run=f"run-{MODELS[(i // 4) % 3]}", model=MODELS[(i // 4) % 3],
        setting=SETTINGS[(i // 12) % 2], split="basic", sample_id=f"s{i:04d}",
        image=f"img/{i:04d}.jpg", category=CATEGORIES[i % 4],
        question=f"Why does the person feel this way? ({i})",
        answer=f"Because of the party, token-{i:04d}.", status="ok" if i % 7 else "unjudged",
        judge="judge-x", protocol="structured",
        recall=None if i % 7 == 0 else (i % 5) / 4,
        triggers=[
            TriggerView(text=f"trigger {k} of {i}", covered=c, evidence="the party" if c else None)
            for k, c in enumerate(covered, 1)
        ],
        thumbnail=THUMB if i % 3 == 0 else None,
    )  # fmt: skip


def evil_sample() -> SampleView:
    return SampleView(
        run=EVIL_RUN, model=EVIL_MODEL, setting=SETTINGS[0], split="basic", sample_id="evil",
        image="evil.jpg", category="Sadness", question=IMG_QUESTION,
        answer=SCRIPT_ANSWER + " pwned " + OUTSIDE, status="ok", recall=0.5,
        triggers=[
            TriggerView(text=IMG_TRIGGER, covered=False),
            TriggerView(text="a lost dog", covered=True, evidence=SCRIPT_EVIDENCE),
        ],
        thumbnail=THUMB,
    )  # fmt: skip


def judged_thrice_sample() -> SampleView:
    """Sample s0000 again, answered by another run and judged by three judgings: one marks
    each trigger, one gives a count only, one could not be read."""
    return SampleView(
        run="run-panel", model="model-a", setting=SETTINGS[0], split="basic", sample_id="s0000",
        image="img/0000.jpg", category="Happy", question="Why does the person feel this way? (0)",
        answer="She smiles at the cake her friends baked.", status="ok",
        judge="semantic:minilm", protocol="semantic", recall=0.5,
        triggers=[
            TriggerView(text="a birthday cake", covered=True, evidence="the cake"),
            TriggerView(text="friends around her", covered=False),
        ],
        verdicts=[
            VerdictView(judge="semantic:minilm", protocol="semantic", status="ok", recall=0.5,
                        covered=[True, False]),
            VerdictView(judge="openai:llama3", protocol="paper-llama3", status="ok", recall=1.0),
            VerdictView(judge="openai:gpt", protocol="triggers", status="judge_unparsed"),
        ],
    )  # fmt: skip


SAMPLES = [plain_sample(i) for i in range(N_PLAIN)] + [judged_thrice_sample(), evil_sample()]
N_RUNS = len({s.run for s in SAMPLES})
N_DISTINCT = N_PLAIN + 1  # the thrice-judged sample is s0000 again, in another run


def table() -> TableView:
    def row(
        block: str, label: str, cells: list[str], bold: str, published: bool = False
    ) -> TableRow:
        flags = [flag == "*" for flag in bold]
        return TableRow(block=block, label=label, cells=cells, bold=flags, published=published)

    return TableView(
        title="Table 1: recall",
        columns=["Happy", "Overall"],
        rows=[
            row(SETTINGS[0], "model-a", ["41.0", "45.1"], bold=".*"),
            row(SETTINGS[1], "model-b", ["50.2", "48.0"], bold="**"),
            row(SETTINGS[0], EVIL_MODEL, ["12.0", "13.0"], bold=".."),
            row(SETTINGS[0], "GPT-4V (paper)", ["60.0", "61.5"], bold="..", published=True),
        ],
        note="Bold: best in block. Italic rows are the paper's figures.",
    )


def report() -> ReportData:
    manifest = [
        {"run": EVIL_RUN, "config": {"model": EVIL_MODEL, "note": "</pre><b>x</b>"}},
        {"config": {"model": "model-a"}},
    ]
    return ReportData(samples=SAMPLES, manifest=manifest)


def write_png(path: Path, colour: tuple[int, int, int] = (0, 90, 200)) -> Path:
    path.write_bytes(base64.b64decode(png_uri(colour).split(",", 1)[1]))
    return path


def write_svg(path: Path) -> Path:
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
        '<rect width="40" height="20" fill="teal"/></svg>'
    )
    return path


def plots(folder: Path) -> list[Path]:
    """Two figures in three files: recall_by_category in PNG and SVG (as `--plots` writes
    them), cost_vs_recall in PNG only."""
    svg = write_svg(folder / "recall_by_category.svg")
    twin = write_png(folder / "recall_by_category.png", (10, 200, 10))
    return [twin, svg, write_png(folder / "cost_vs_recall.png")]


class Tags(HTMLParser):
    """Every start tag of a document with its attributes, and the text of each script."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


@pytest.fixture(scope="module")
def page_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    return render_html(report(), [table()], plots(tmp_path_factory.mktemp("plots")))


def test_page_references_nothing_outside_itself(page_html: str) -> None:
    tags = parse(page_html)
    linked = ("src", "href", "srcset", "action", "formaction", "poster", "data", "background")
    refs = [v for _, attrs in tags.tags for k, v in attrs.items() if k in linked and v]
    assert refs, "the page should at least embed its plots"
    assert all(v.startswith(("data:", "#")) for v in refs), refs
    assert all(tag != "link" or attrs.get("href") == "data:," for tag, attrs in tags.tags)
    assert "url(" not in page_html and "@import" not in page_html


def test_sample_payload_cannot_close_its_script_element() -> None:
    payload = sample_payload([evil_sample()])
    assert not set("<>&") & set(payload)
    assert "\\u003c/script\\u003e" in payload
    sample = json.loads(payload)["samples"][0]
    assert sample["answer"] == SCRIPT_ANSWER + " pwned " + OUTSIDE
    assert sample["triggers"][1]["evidence"] == SCRIPT_EVIDENCE


def test_page_carries_the_samples_intact_in_one_json_element(page_html: str) -> None:
    tags = parse(page_html)
    kinds = [attrs.get("type") for tag, attrs in tags.tags if tag == "script"]
    assert kinds == ["application/json", None]
    data = json.loads(tags.scripts[0])
    assert len(data["samples"]) == len(SAMPLES)
    assert data["samples"][-1]["question"] == IMG_QUESTION
    assert data["images"] == [THUMB], "a thumbnail shared by samples is stored once"


def test_model_text_in_tables_manifest_and_filters_is_escaped(page_html: str) -> None:
    tags = parse(page_html)
    assert not [(t, a) for t, a in tags.tags for k in a if k.startswith("on")]
    assert [t for t, _ in tags.tags].count("img") == 2, "only the two plots are images"
    assert "<script>window.__pwned" not in page_html
    assert "&lt;img src=x onerror=&#34;window.__pwned=5&#34;&gt;" in page_html
    assert "run&lt;/pre&gt;&lt;script&gt;window.__pwned = 6&lt;/script&gt;" in page_html
    assert "&lt;/pre&gt;&lt;b&gt;x&lt;/b&gt;" in page_html
    assert "<summary>manifest 2</summary>" in page_html


def test_tables_group_blocks_bold_best_cells_and_mark_published_rows(page_html: str) -> None:
    assert page_html.count('scope="rowgroup"') == 2
    first, second = page_html.index(">User Question</th>"), page_html.index(">User Question &amp;")
    assert first < page_html.index("GPT-4V (paper)") < second, "rows are grouped by block"
    assert "<td><strong>45.1</strong></td>" in page_html and "<td>41.0</td>" in page_html
    published = re.search(r'<tr class="published"[^>]*>\s*<th scope="row">([^<]*)', page_html)
    assert published is not None and published.group(1).strip() == "GPT-4V (paper)"
    assert '<span class="badge">published</span>' in page_html
    assert '<p class="note">Bold: best in block. Italic rows are the paper&#39;s figures.</p>' in (
        page_html
    )


def test_policy_admits_only_the_inline_script_and_style(page_html: str) -> None:
    meta = [a for t, a in parse(page_html).tags if a.get("http-equiv") == "Content-Security-Policy"]
    policy = meta[0]["content"] or ""
    script = parse(page_html).scripts[1]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_plots_are_embedded_and_unknown_types_refused(page_html: str, tmp_path: Path) -> None:
    assert 'src="data:image/svg+xml;base64,' in page_html
    assert 'src="data:image/png;base64,' in page_html
    assert "<figcaption>recall by category</figcaption>" in page_html
    (tmp_path / "plot.pdf").write_bytes(b"%PDF")
    with pytest.raises(EIBenchError, match=r"plot\.pdf"):
        render_html(ReportData(), [], [tmp_path / "plot.pdf"])


def test_a_figure_in_two_formats_is_embedded_once_as_svg(page_html: str) -> None:
    figures = re.findall(r'<figure class="plot">\s*<img src="data:([^;]+);', page_html)
    assert figures == ["image/svg+xml", "image/png"], "one image per figure, the SVG preferred"
    assert page_html.count("<figcaption>recall by category</figcaption>") == 1


def test_a_drawn_figure_is_shown_once_under_its_caption(tmp_path: Path) -> None:
    png = write_png(tmp_path / "judge_agreement_run-a_x_vs_y.png")
    svg = write_svg(tmp_path / "judge_agreement_run-a_x_vs_y.svg")
    caption = "How two judgings score the same 8 answers of run run-a <b>bold</b>."
    html = render_html(ReportData(), [], [Drawn(caption, (png, svg))])
    assert html.count("<img ") == 1 and 'src="data:image/svg+xml;base64,' in html
    assert "<figcaption>How two judgings score the same 8 answers of run run-a &lt;b&gt;" in html
    assert "judge agreement" not in html and "judge_agreement" not in html


def _cells(low: float | None = 0.4, high: float | None = 0.6) -> list[Cell]:
    return [
        Cell(
            model="model-a", setting=SETTINGS[0], split="basic", category=category,
            protocol="semantic", judge="semantic:minilm", estimate=0.5, low=low, high=high,
            n=40, run="run-a",
        )
        for category in BASIC_COLUMNS
    ]  # fmt: skip


def test_html_tables_show_intervals_and_n_as_terminal_ci_tables_do() -> None:
    html = render_report(ReportData(cells=_cells()), "html")  # no ci=True, as quickstart asks
    [terminal] = build_tables(ReportData(cells=_cells()), ci=True)  # what `--ci` prints
    shown = terminal.rows[0].cells
    assert len(shown) == len(BASIC_COLUMNS) and all("40.00" in c and "n=40" in c for c in shown)
    assert re.findall(r"<td><strong>([^<]*)</strong></td>", html) == [escape(c) for c in shown]
    assert "mean per-sample recall in % [95% interval] n=samples scored" in html
    assert "40.00" not in render_report(ReportData(cells=_cells()), "md"), "md still asks --ci"
    bare = render_report(ReportData(cells=_cells(None, None)), "html")
    assert "<strong>50.00</strong>" in bare and "[95% interval]" not in bare


def test_report_plots_dir_embeds_each_plot_once_with_a_sentence_caption(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib.figure")
    pair = AgreementPair(
        run="run-a", judging_a="semantic:minilm (semantic)", judging_b="openai:llama3 (paper)",
        a=[0.0, 0.5, 1.0, 1.0], b=[0.0, 1.0, 1.0, 0.5],
    )  # fmt: skip
    data = ReportData(cells=_cells(), agreement=[pair])
    html = render_report(data, "html", plots_dir=tmp_path / "plots")
    stems = {f.stem for f in (tmp_path / "plots").iterdir()}
    assert {f.suffix for f in (tmp_path / "plots").iterdir()} == {".png", ".svg"}
    assert html.count('<figure class="plot">') == len(stems) == 3
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", html)
    assert len(captions) == 3
    for caption in captions:
        assert caption.endswith(".") and "_" not in caption and len(caption.split()) > 10
        assert caption.split(" ")[0] not in {"recall", "judge"}, "not a file name"
    assert any("run-a" in c and "semantic:minilm (semantic)" in c for c in captions)
    assert any("each emotion category" in c and "semantic protocol" in c for c in captions)


def test_header_counts_runs_distinct_samples_and_answers_apart(page_html: str) -> None:
    assert f'<span id="n-runs">Runs: {N_RUNS}</span>' in page_html
    assert f'<span id="n-samples">Samples: {N_DISTINCT} distinct</span>' in page_html
    assert f'<span id="n-answers">Answers: {len(SAMPLES)}</span>' in page_html
    assert len(SAMPLES) == N_DISTINCT + 1


def category_options(html: str) -> list[str]:
    select = html.split('<select id="f-category">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)">', select)


def test_category_filter_offers_the_tables_categories_in_their_order() -> None:
    complex_ = plain_sample(1).model_copy(update={"category": "Complex", "split": "complex"})
    angry = plain_sample(1)
    assert angry.category == "Angry"
    both = category_options(render_html(ReportData(samples=[complex_, angry]), [], []))
    assert both == ["", "Happy", "Angry", "Sadness", "Excitement", "Complex"]
    assert category_options(render_html(ReportData(samples=[complex_]), [], [])) == [
        "",
        "Complex",
    ]


def test_every_judging_travels_with_the_sample() -> None:
    rows = json.loads(sample_payload([judged_thrice_sample(), plain_sample(3)]))["samples"]
    assert [(v["protocol"], v["recall"], v["covered"]) for v in rows[0]["verdicts"]] == [
        ("semantic", 0.5, [True, False]),
        ("paper-llama3", 1.0, None),
        ("triggers", None, None),
    ]
    # a view that names only its lead judging has that one verdict, marks from its triggers
    assert rows[1]["verdicts"] == [
        {"judge": "judge-x", "protocol": "structured", "status": "ok", "recall": 0.75,
         "covered": [False, True, False]}
    ]  # fmt: skip


def test_title_is_escaped_and_empty_report_renders() -> None:
    html = render_html(ReportData(), [], [], title="<i>x</i> & y")
    assert "<title>&lt;i&gt;x&lt;/i&gt; &amp; y</title>" in html
    assert "No tables." in html and "No runs." in html


def test_write_html_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    write_html(target, "old")
    write_html(target, "<!doctype html>new")
    assert target.read_text(encoding="utf-8") == "<!doctype html>new"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


# --- in Chromium ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_url(page_html: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(path, page_html)
    return path.as_uri()


@pytest.fixture
def watched(chromium: Browser, report_url: str) -> Iterator[WatchedPage]:
    """The report open in a fresh page; the test fails if the page erred or went online."""
    page = open_page(chromium, report_url)
    try:
        yield page
        page.assert_clean()
    finally:
        page.close()


def counts(w: WatchedPage) -> tuple[int, int, int]:
    """(matching, shown, cards in the DOM)."""
    page = w.page
    return (
        int(page.text_content("#match-count") or -1),
        int(page.text_content("#shown-count") or -1),
        page.locator("#cards .card").count(),
    )


def texts(w: WatchedPage, selector: str) -> list[str]:
    return w.page.locator(selector).all_text_contents()


def test_page_loads_clean_with_the_first_page_of_cards(watched: WatchedPage) -> None:
    assert counts(watched) == (len(SAMPLES), PAGE_SIZE, PAGE_SIZE)
    assert watched.page.evaluate("document.querySelectorAll('.plot img').length") == 2
    total = watched.page.text_content("#count") or ""
    assert f"{len(SAMPLES)} in total ({N_DISTINCT} distinct samples)" in total
    watched.assert_clean()


def test_category_filter_shows_only_that_category(watched: WatchedPage) -> None:
    watched.page.select_option("#f-category", "Angry")
    expected = sum(s.category == "Angry" for s in SAMPLES)
    assert counts(watched) == (expected, expected, expected)
    assert set(texts(watched, "#cards .card .category")) == {"Angry"}


def test_model_and_setting_filters_combine(watched: WatchedPage) -> None:
    watched.page.select_option("#f-model", "model-b")
    watched.page.select_option("#f-setting", SETTINGS[1])
    expected = sum(s.model == "model-b" and s.setting == SETTINGS[1] for s in SAMPLES)
    assert 0 < expected < PAGE_SIZE
    assert counts(watched)[0::2] == (expected, expected)
    assert set(texts(watched, "#cards .card .model")) == {"model-b"}
    assert set(texts(watched, "#cards .card .setting")) == {SETTINGS[1]}


def test_score_range_and_unscored_filters(watched: WatchedPage) -> None:
    page = watched.page
    page.fill("#f-min", "50")
    page.fill("#f-max", "75")
    assert page.input_value("#f-score") == "range"
    in_range = sum(s.recall is not None and 0.5 <= s.recall <= 0.75 for s in SAMPLES)
    assert counts(watched)[0] == in_range
    assert set(texts(watched, "#cards .card .recall")) == {"50%", "75%"}
    page.select_option("#f-score", "unscored")
    unscored = sum(s.recall is None for s in SAMPLES)
    assert counts(watched) == (unscored, unscored, unscored)
    assert set(texts(watched, "#cards .card .recall")) == {"unscored"}
    page.click("#f-reset")
    assert counts(watched)[0] == len(SAMPLES)


def test_search_finds_text_in_answers_and_triggers(watched: WatchedPage) -> None:
    watched.page.fill("#f-search", "TOKEN-0123")
    assert counts(watched) == (1, 1, 1)
    assert "token-0123" in texts(watched, "#cards .answer")[0]
    watched.page.fill("#f-search", "A LOST dog")
    assert texts(watched, "#cards .card .ids") == ["evil · basic · evil.jpg"]
    watched.page.fill("#f-search", "party s0017")
    assert counts(watched) == (1, 1, 1)


def test_injected_markup_shows_as_text_and_never_runs(watched: WatchedPage) -> None:
    page = watched.page
    page.fill("#f-search", "pwned")
    card = page.locator("#cards .card")
    assert card.count() == 1
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.text_content("#cards .answer") == SCRIPT_ANSWER + " pwned " + OUTSIDE
    assert page.text_content("#cards .question-text") == IMG_QUESTION
    assert texts(watched, "#cards .trigger") == [IMG_TRIGGER, "a lost dog"]
    assert page.text_content("#cards .evidence") == SCRIPT_EVIDENCE
    assert page.text_content("#cards .model") == EVIL_MODEL
    assert page.text_content("#cards .run") == EVIL_RUN
    markup = "document.querySelectorAll('#cards img:not(.thumb), #cards a, #cards b').length"
    assert page.evaluate(markup) == 0
    marks = texts(watched, "#cards .triggers .mark")
    assert marks == ["✗", "✓"]
    page.select_option("#f-model", EVIL_MODEL)
    assert counts(watched)[0] == 1
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_thumbnails_render_where_present(watched: WatchedPage) -> None:
    page = watched.page
    with_thumb = sum(s.thumbnail is not None for s in SAMPLES[:PAGE_SIZE])
    assert page.locator("#cards img.thumb").count() == with_thumb
    assert page.locator("#cards .no-thumb").count() == PAGE_SIZE - with_thumb
    page.wait_for_function(
        "[...document.querySelectorAll('#cards img.thumb, .plot img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=5000,
    )


def test_show_more_renders_past_the_cap(watched: WatchedPage) -> None:
    page = watched.page
    assert page.is_visible("#more")
    page.click("#more")
    assert counts(watched) == (len(SAMPLES), len(SAMPLES), len(SAMPLES))
    assert page.is_hidden("#more")
    assert texts(watched, "#cards .card .ids")[-1].startswith("evil ·")


def test_cards_label_the_answer_and_the_triggers_and_explain_the_marks(
    watched: WatchedPage,
) -> None:
    page = watched.page
    page.fill("#f-search", "token-0005")
    assert counts(watched) == (1, 1, 1)
    assert texts(watched, "#cards .card h3") == ["Answer", "Ground-truth triggers", "Verdict"]
    key = page.text_content("#cards .key") or ""
    assert "✓ covered by the answer" in key and "✗ missed" in key and "\u2013 not marked" in key
    assert "marks of judge-x (structured)" in key
    titles = page.eval_on_selector_all("#cards .triggers .mark", "ms => ms.map(m => m.title)")
    assert titles == ["missed", "missed", "missed"]


def test_a_card_shows_every_judgings_verdict(watched: WatchedPage) -> None:
    page = watched.page
    page.fill("#f-search", "cake her friends")
    assert counts(watched) == (1, 1, 1)
    assert texts(watched, "#cards .card h3")[-1] == "Verdicts (3)"
    assert texts(watched, "#cards .verdicts th") == [
        "Judge", "Protocol", "Recall", "Status", "Per-trigger marks"
    ]  # fmt: skip
    assert texts(watched, "#cards .v-judge") == ["semantic:minilm", "openai:llama3", "openai:gpt"]
    assert texts(watched, "#cards .v-protocol") == ["semantic", "paper-llama3", "triggers"]
    assert texts(watched, "#cards .v-recall") == ["50%", "100%", "unscored"]
    assert texts(watched, "#cards .v-status") == ["ok", "ok", "judge_unparsed"]
    assert texts(watched, "#cards .v-marks") == [
        "1✓2✗", "no per-trigger marks", "no per-trigger marks"
    ]  # fmt: skip
    assert texts(watched, "#cards .triggers .mark") == ["✓", "✗"]
    assert texts(watched, "#cards .evidence") == ["the cake"]
