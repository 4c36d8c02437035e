"""Report plots: which files are written, that they are valid and deterministic, and that the
numbers and labels in them are the right ones."""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib.figure")  # loads the font cache before tests move XDG_CACHE_HOME
from PIL import Image

from eibench.errors import EIBenchError
from eibench.metrics.agreement import pearson
from eibench.report.data import AgreementPair, Cell, CostPoint, ReportData
from eibench.report.plots import (
    draw_plots,
    make_plots,
    plot_agreement,
    plot_categories,
    plot_cost,
    plot_settings,
    short_names,
)

MODELS = ["openai:llava-hf/llava-v1.6-34b-hf", "openai:gpt-4o-mini", "hf:Qwen/Qwen2-VL-7B"]
SETTINGS = ["User Question", "User Question & CoT"]
PROTOCOLS = ["paper-llama3", "paper-chatgpt"]
CATEGORIES = ["Happy", "Angry", "Sadness", "Excitement", "Overall"]


def _cells() -> list[Cell]:
    cells = []
    for m, model in enumerate(MODELS):
        for s, setting in enumerate(SETTINGS):
            for p, protocol in enumerate(PROTOCOLS):
                for c, category in enumerate(CATEGORIES):
                    value = 0.2 + 0.1 * m + 0.05 * s + 0.02 * p + 0.03 * c
                    cells.append(
                        Cell(
                            model=model, setting=setting, split="basic", category=category,
                            protocol=protocol, judge=f"judge-{protocol}", estimate=value,
                            low=value - 0.05, high=value + 0.05, n=40, run=f"run-{m}-{s}",
                        )
                    )  # fmt: skip
    return cells


def _costs(*, money: bool) -> list[CostPoint]:
    return [
        CostPoint(
            run=f"run-{m}-{s}", model=model, setting=setting, protocol=protocol,
            recall=0.3 + 0.1 * m, tokens=1000 * (m + 1) * (s + 1),
            cost=0.01 * (m + 1) if money else None,
        )
        for m, model in enumerate(MODELS)
        for s, setting in enumerate(SETTINGS)
        for protocol in PROTOCOLS
    ]  # fmt: skip


def _report() -> ReportData:
    pair = AgreementPair(
        run="run-0-0",
        judging_a="judge-a (paper-llama3)",
        judging_b="judge-b (paper-chatgpt)",
        a=[0.0, 0.5, 1.0, 1.0, 0.5],
        b=[0.0, 1.0, 1.0, 0.5, 0.5],
    )
    return ReportData(cells=_cells(), costs=_costs(money=True), agreement=[pair])


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A folder for plots that does not exist yet (tmp_path holds the test cache)."""
    return tmp_path / "plots"


def _svg_text(path: Path) -> str:
    """All text shown in an SVG file (matplotlib writes text as <text> with svg.fonttype none)."""
    root = ET.parse(path).getroot()
    return "\n".join("".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text"))


def test_make_plots_writes_every_plot_in_every_format(out: Path) -> None:
    files = make_plots(_report(), out)
    names = sorted(f.name for f in files)
    assert names == sorted(
        f"{stem}.{fmt}"
        for stem in [
            "recall_by_category_paper-llama3",
            "recall_by_category_paper-chatgpt",
            "recall_by_setting_paper-llama3",
            "recall_by_setting_paper-chatgpt",
            "recall_vs_cost_paper-llama3",
            "recall_vs_cost_paper-chatgpt",
            "judge_agreement_run-0-0_judge-a-paper-llama3_vs_judge-b-paper-chatgpt",
        ]
        for fmt in ("png", "svg")
    )
    assert sorted(p.name for p in (out).iterdir()) == names  # no temporary files left
    for f in files:
        if f.suffix == ".png":
            with Image.open(f) as im:
                assert im.format == "PNG"
                assert 400 <= im.width <= 5000 and 300 <= im.height <= 3000
        else:
            ET.parse(f)


def test_category_plot_names_models_and_categories(out: Path) -> None:
    files = plot_categories(_cells(), out, ["svg"])
    assert [f.name for f in files] == [
        "recall_by_category_paper-llama3.svg",
        "recall_by_category_paper-chatgpt.svg",
    ]
    text = _svg_text(files[0])
    for category in CATEGORIES:
        assert category in text
    for short in ["llava-v1.6-34b-hf", "gpt-4o-mini", "Qwen2-VL-7B"]:
        assert short in text.replace("\n", "")
    assert "paper-llama3" in text
    assert "100%" in text  # percent axis


def test_settings_plot_groups_settings_by_model(out: Path) -> None:
    files = plot_settings(_cells(), out, ["svg"])
    assert len(files) == 2
    text = _svg_text(files[1])
    assert "User Question & CoT" in text and "paper-chatgpt" in text
    assert "gpt-4o-mini" in text
    assert "[run-" not in text  # one run per model and setting: legend names settings only


def test_files_are_byte_identical_across_calls(out: Path) -> None:
    first = make_plots(_report(), out / "a", ["svg"])
    second = make_plots(_report(), out / "b", ["svg"])
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert b"<dc:date>" not in first[0].read_bytes()
    pngs = [plot_agreement(_report().agreement, out / d, ["png"])[0] for d in "cd"]
    assert pngs[0].read_bytes() == pngs[1].read_bytes()
    assert b"Software" not in pngs[0].read_bytes()


def test_empty_inputs_write_nothing(out: Path) -> None:
    assert make_plots(ReportData(), out) == []
    assert plot_categories([], out, ["png"]) == []
    assert plot_settings([], out, ["png"]) == []
    assert plot_cost([], out, ["png"]) == []
    assert plot_agreement([], out, ["png"]) == []
    empty = AgreementPair(run="r", judging_a="a", judging_b="b", a=[], b=[])
    assert plot_agreement([empty], out, ["png"]) == []
    assert not out.exists()


def test_published_and_complex_cells_are_not_plotted(out: Path) -> None:
    cells = [c.model_copy(update={"published": True}) for c in _cells()]
    cells += [c.model_copy(update={"split": "complex", "category": "Complex"}) for c in _cells()]
    assert plot_categories(cells, out, ["png"]) == []
    assert plot_settings(cells, out, ["png"]) == []


def test_none_estimates_and_missing_ci_are_skipped(out: Path) -> None:
    cells = _cells()
    cells[0] = cells[0].model_copy(update={"estimate": None, "low": None, "high": None})
    cells[1] = cells[1].model_copy(update={"low": None, "high": None})
    cells[2] = cells[2].model_copy(update={"high": None})
    only_none = [c.model_copy(update={"estimate": None}) for c in _cells()[:5]]
    assert len(plot_categories(cells, out, ["svg"])) == 2
    assert len(plot_settings(cells, out, ["svg"])) == 2
    assert plot_categories(only_none, out / "none", ["png"]) == []


def test_cost_plot_uses_money_when_every_point_has_a_cost(out: Path) -> None:
    [money] = plot_cost(_costs(money=True)[::2], out / "money", ["svg"])
    assert "Cost (USD)" in _svg_text(money)
    assert "Tokens" not in _svg_text(money)
    mixed = _costs(money=True)
    mixed[0] = mixed[0].model_copy(update={"cost": None})
    files = plot_cost(mixed, out / "tokens", ["svg"])
    text = _svg_text(files[0])
    assert "Tokens (input + output)" in text and "Cost (USD)" not in text
    assert "Cost (USD)" in _svg_text(files[1])  # the other protocol's points all have costs


def test_cost_plot_skips_offline_points(out: Path) -> None:
    offline = [p.model_copy(update={"tokens": 0, "cost": None}) for p in _costs(money=False)]
    assert plot_cost(offline, out, ["png"]) == []
    no_recall = [p.model_copy(update={"recall": None}) for p in _costs(money=True)]
    assert plot_cost(no_recall, out, ["png"]) == []
    assert not out.exists()


def test_agreement_title_gives_pearson_r(out: Path) -> None:
    a = [0.0, 0.5, 1.0, 1.0, 0.5]
    b = [0.0, 1.0, 1.0, 0.5, 0.5]
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    expected = cov / math.sqrt(sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b))
    pair = AgreementPair(run="run-x", judging_a="A (p)", judging_b="B (p)", a=a, b=b)
    [svg] = plot_agreement([pair], out, ["svg"])
    text = _svg_text(svg)
    assert f"Pearson r = {expected:.3f} (n = 5)" in text
    assert "A (p)" in text and "B (p)" in text


def test_agreement_with_constant_scores_has_no_r(out: Path) -> None:
    pair = AgreementPair(run="r", judging_a="A", judging_b="B", a=[1.0, 1.0, 1.0], b=[0, 0.5, 1])
    assert math.isnan(pearson(pair.a, pair.b))
    [svg] = plot_agreement([pair], out, ["svg"])
    assert "Pearson r = n/a" in _svg_text(svg)


def test_agreement_pair_of_unequal_lengths_is_an_error(out: Path) -> None:
    pair = AgreementPair(run="r", judging_a="A", judging_b="B", a=[1.0, 0.0], b=[1.0])
    with pytest.raises(EIBenchError, match="same samples"):
        plot_agreement([pair], out, ["png"])


def test_several_judges_of_one_protocol_get_their_own_figures(out: Path) -> None:
    cells = [c for c in _cells() if c.protocol == "paper-llama3"]
    cells += [c.model_copy(update={"judge": "other judge"}) for c in cells]
    files = plot_categories(cells, out, ["png"])
    assert [f.name for f in files] == [
        "recall_by_category_paper-llama3_judge-paper-llama3.png",
        "recall_by_category_paper-llama3_other-judge.png",
    ]


def test_repeated_runs_are_separate_series(out: Path) -> None:
    cells = [c for c in _cells() if c.protocol == "paper-llama3" and c.run == "run-0-0"]
    cells += [c.model_copy(update={"run": "run-again", "estimate": 0.9}) for c in cells]
    [svg] = plot_settings(cells, out, ["svg"])
    text = _svg_text(svg)
    assert "User Question [run-0-0]" in text and "User Question [run-again]" in text
    [svg] = plot_categories(cells, out, ["svg"])
    assert "[run-again]" in _svg_text(svg).replace("\n", " ")


def test_unknown_format_is_refused_before_writing(out: Path) -> None:
    with pytest.raises(EIBenchError, match="unknown plot format 'gif'"):
        plot_categories(_cells(), out, ["png", "gif"])
    with pytest.raises(EIBenchError, match="unknown plot format"):
        make_plots(ReportData(), out, ["jpeg"])
    assert not out.exists()


def test_pdf_is_written_without_dates(out: Path) -> None:
    [pdf] = plot_settings(_cells()[:5], out, ["pdf"])
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"CreationDate" not in data


def test_short_names_drop_scheme_and_organisation_unless_names_clash() -> None:
    assert short_names(["openai:llava-hf/llava-v1.6-34b-hf", "prior"]) == {
        "openai:llava-hf/llava-v1.6-34b-hf": "llava-v1.6-34b-hf",
        "prior": "prior",
    }
    clash = short_names(["hf:a/model", "hf:b/model"])
    assert clash == {"hf:a/model": "a/model", "hf:b/model": "b/model"}
    assert short_names(["hf:x/m", "openai:x/m"]) == {"hf:x/m": "hf:x/m", "openai:x/m": "openai:x/m"}


def test_missing_matplotlib_is_a_clear_error(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(EIBenchError, match=r"pip install 'eibench\[report\]'"):
        plot_settings(_cells(), out, ["png"])
    assert make_plots(ReportData(), out) == []  # nothing to draw needs no matplotlib


def test_each_figure_has_a_sentence_caption_and_its_files(out: Path) -> None:
    drawn = draw_plots(_report(), out)
    assert [p.name for d in drawn for p in d.files] == [
        p.name for p in make_plots(_report(), out / "again")
    ]
    for d in drawn:
        assert {p.suffix for p in d.files} == {".png", ".svg"}
        assert len({p.stem for p in d.files}) == 1, "one figure, one picture in each format"
        assert d.caption.endswith(".") and d.caption[0].isupper()
        assert "_" not in d.caption and d.files[0].stem not in d.caption
    captions = [d.caption for d in drawn]
    assert captions[0] == (
        "Mean per-sample recall on each emotion category of the basic split, one bar per model "
        "and setting, with 95% intervals; judged by judge-paper-llama3 under the paper-llama3 "
        "protocol."
    )
    assert captions[2].startswith("Overall recall on the basic split of each model under each")
    assert captions[4] == (
        "Each run's overall recall against its cost in US dollars, coloured by setting; scored "
        "under the paper-llama3 protocol."
    )
    r = pearson(_report().agreement[0].a, _report().agreement[0].b)
    assert captions[6] == (
        "How two judgings score the same 5 answers of run run-0-0: each bubble places a "
        "sample's recall by judge-a (paper-llama3) (across) against its recall by judge-b "
        f"(paper-chatgpt) (up), its area counting the samples there; bubbles on the dashed "
        f"diagonal are samples the two agree on (Pearson r = {r:.3f})."
    )
    [tokens] = draw_plots(ReportData(costs=_costs(money=False)[:1]), out / "tokens", ["svg"])
    assert "against the tokens it used (input + output)" in tokens.caption


def test_no_legend_covers_the_plotting_area(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eibench.report.figures import save as real_save

    checked: list[str] = []

    def save(fig: Any, out_dir: Path, stem: str, formats: Any) -> list[Path]:
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            assert legend is not None, stem
            area = ax.get_window_extent(renderer)
            box = legend.get_window_extent(renderer)
            assert box.x0 >= area.x1 or box.x1 <= area.x0 or box.y0 >= area.y1, stem
            checked.append(stem)
        return real_save(fig, out_dir, stem, formats)

    monkeypatch.setattr("eibench.report.plots.save", save)
    crowded = AgreementPair(
        run="run-0-0", judging_a="a (p)", judging_b="b (p)",
        a=[0.0] * 30 + [1.0] * 30 + [0.5] * 3, b=[1.0] * 30 + [1.0] * 30 + [0.0] * 3,
    )  # fmt: skip
    report = _report().model_copy(update={"agreement": [*_report().agreement, crowded]})
    make_plots(report, out, ["png"])
    assert len(checked) == 8 and sum(s.startswith("judge_agreement") for s in checked) == 2
