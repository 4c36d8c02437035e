"""The HTML report as the commands write it: `eibench quickstart`'s page, and `eibench report
--format html --plots DIR` on a run that two judgings judged, read as markup and in Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from eibench.cli import run
from tests.browser import WatchedPage, chromium_fixture, open_page  # noqa: F401 (fixture)
from tests.fake_server import Behaviour, FakeServer, request_text

if TYPE_CHECKING:
    from playwright.sync_api import Browser

LIMIT = 8
BASIC_RUN = "quickstart-prior-basic-user"
VOCABULARY = ["Happy", "Angry", "Sadness", "Excitement", "Complex"]


def reply(body: Any) -> str:
    """A paper-llama3 verdict: half of the ground-truth triggers found."""
    block = request_text(body).split("Ground Truth:\n", 1)[1].split("\n\nYour Assessment:")[0]
    n = len(block.splitlines())
    return f"{{score: {n // 2}/{n}}}"


@dataclass
class Pages:
    quickstart: str
    report: str
    report_path: Path
    plots: Path


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory, release_dir: Path) -> Iterator[Pages]:
    """Quickstart on the first LIMIT samples of each split; then the basic run judged again
    under paper-llama3 (a loopback server) and reported with `--plots`."""
    root = tmp_path_factory.mktemp("html-cli")
    common = ["--data", str(release_dir), "--workspace", str(root / "ws")]
    with pytest.MonkeyPatch.context() as env, FakeServer(Behaviour(reply=reply)) as server:
        env.delenv("EIBENCH_DATA", raising=False)
        env.setenv("XDG_CACHE_HOME", str(root / "xdg-cache"))
        env.setenv("EIBENCH_CONFIG", str(root / "absent.toml"))
        env.setenv("OPENAI_API_KEY", "sk-test")
        quickstart = root / "quickstart.html"
        args = ["quickstart", *common, "--out", str(quickstart), "--limit", str(LIMIT)]
        assert run(args) == 0
        judge = ["judge", "--run", BASIC_RUN, "--protocol", "paper-llama3", "--judge",
                 "openai:llama3", "--judge-base-url", server.openai_url, *common]  # fmt: skip
        assert run(judge) == 0
        report = root / "report.html"
        plots = root / "plots"
        args = ["report", "--format", "html", "--plots", str(plots), "--out", str(report)]
        assert run([*args, *common]) == 0
    yield Pages(
        quickstart.read_text(encoding="utf-8"), report.read_text(encoding="utf-8"), report, plots
    )


def payload(page: str) -> list[dict[str, Any]]:
    text = page.split('<script type="application/json" id="samples">', 1)[1]
    samples: list[dict[str, Any]] = json.loads(text.split("</script>", 1)[0])["samples"]
    return samples


def options(page: str, select: str) -> list[str]:
    block = page.split(f'<select id="{select}">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)">', block)


def test_quickstart_page_tables_show_intervals_and_n(pages: Pages) -> None:
    cells = re.findall(r"<td>(?:<strong>)?([^<]*)", pages.quickstart)
    measured = [c for c in cells if c != "-"]
    assert measured, "the quickstart tables have measured cells"
    assert all(re.fullmatch(r"\d+\.\d\d \[.+\] n=\d+", c) for c in measured), measured
    assert any(c.endswith(f"n={LIMIT}") for c in measured)
    assert "[95% interval] n=samples scored" in pages.quickstart


def test_quickstart_filter_offers_one_category_vocabulary(pages: Pages) -> None:
    assert options(pages.quickstart, "f-category") == ["", *VOCABULARY]
    assert {s["category"] for s in payload(pages.quickstart) if s["split"] == "complex"} == {
        "Complex"
    }


def test_quickstart_header_labels_runs_samples_and_answers(pages: Pages) -> None:
    assert '<span id="n-runs">Runs: 2</span>' in pages.quickstart
    assert f'<span id="n-samples">Samples: {2 * LIMIT} distinct</span>' in pages.quickstart
    assert f'<span id="n-answers">Answers: {2 * LIMIT}</span>' in pages.quickstart


def test_report_with_plots_dir_shows_each_plot_once_with_a_caption(pages: Pages) -> None:
    written = sorted(pages.plots.iterdir())
    stems = {f.stem for f in written}
    assert {f.suffix for f in written} == {".png", ".svg"} and len(written) == 2 * len(stems)
    assert any(s.startswith("judge_agreement") for s in stems)
    assert pages.report.count('<figure class="plot">') == len(stems)
    assert pages.report.count('src="data:image/svg+xml;base64,') == len(stems)
    assert "data:image/png" not in pages.report
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", pages.report)
    assert len(captions) == len(stems)
    assert all(c.endswith(".") and "_" not in c for c in captions), captions
    agreement = [c for c in captions if c.startswith("How two judgings score")]
    assert len(agreement) == 1 and BASIC_RUN in agreement[0]


def test_report_cards_carry_every_judgings_verdict(pages: Pages) -> None:
    basic = [s for s in payload(pages.report) if s["run"] == BASIC_RUN]
    assert len(basic) == LIMIT
    for sample in basic:
        semantic, paper = sample["verdicts"]
        assert semantic["protocol"] == "semantic" and paper["protocol"] == "paper-llama3"
        assert paper["judge"] == "openai:llama3" and paper["covered"] is None
        n = len(sample["triggers"])
        assert paper["recall"] == pytest.approx((n // 2) / n)
        assert semantic["covered"] == [t["covered"] for t in sample["triggers"]]
    complex_ = [s for s in payload(pages.report) if s["split"] == "complex"]
    assert complex_ and all(len(s["verdicts"]) == 1 for s in complex_)


@pytest.fixture
def watched(chromium: Browser, pages: Pages) -> Iterator[WatchedPage]:
    page = open_page(chromium, pages.report_path.as_uri())
    try:
        yield page
        page.assert_clean()
    finally:
        page.close()


def test_in_chromium_complex_filters_and_cards_show_both_verdicts(watched: WatchedPage) -> None:
    page = watched.page
    page.select_option("#f-category", "Complex")
    assert page.text_content("#match-count") == str(LIMIT)
    assert set(page.locator("#cards .card .category").all_text_contents()) == {"Complex"}
    page.select_option("#f-category", "")
    page.select_option("#f-setting", "User Question")
    page.fill("#f-search", BASIC_RUN)
    first = page.locator("#cards .card").first
    assert first.locator("h3").all_text_contents() == [
        "Answer", "Ground-truth triggers", "Verdicts (2)"
    ]  # fmt: skip
    assert first.locator(".v-protocol").all_text_contents() == ["semantic", "paper-llama3"]
    marks = first.locator(".v-marks").all_text_contents()
    assert marks[1] == "no per-trigger marks"
    assert re.fullmatch(r"(\d[\u2713\u2717\u2013])+", marks[0]), marks[0]
