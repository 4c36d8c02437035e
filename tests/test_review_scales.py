"""Rating scales of rate campaigns: the 1-5 (paper) and 0-5 campaigns in a real headless
Chromium (their buttons, rubric and keys), a score off a campaign's scale refused by the server
with its own 422 page, and the analysis reading and naming the scale of its scores."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from eibench.data.schema import emotion_of
from eibench.errors import DataError
from eibench.review.analysis import Ratings, rating_report, read_release_scores
from eibench.review.app import create_app
from eibench.review.scales import LEGACY_0_5, PAPER_SCALE, scale_beside
from tests.browser import chromium_fixture  # noqa: F401 (fixture)
from tests.test_review_web import Server, Site, open_rater, press, sample_items, signin

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module", name="site")
def site_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workspace = tmp_path_factory.mktemp("workspace")
    with Server(create_app(workspace, None, None)) as server:
        yield Site(server.url, workspace)


@pytest.fixture(scope="module")
def release_ratings(release_dir: Path) -> Ratings:
    return read_release_scores(sorted((release_dir / "human_eval").glob("score_*.jsonl")))


def _basic(key: str) -> str:
    return emotion_of("basic", key)


def _by_prefix(key: str) -> str:
    return key.split("/")[0]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_1_to_5_campaign_shows_five_buttons_and_the_rubric_and_ignores_the_0_key(
    chromium: Browser, site: Site
) -> None:
    tokens = site.campaign("rate", ["pam"], sample_items(2, "s"))
    rater = open_rater(chromium, site, tokens["pam"])
    page = rater.page
    buttons = page.locator("#scores button.score")
    assert buttons.all_inner_texts() == ["1", "2", "3", "4", "5"]
    assert [buttons.nth(i).get_attribute("value") for i in range(5)] == list("12345")
    rubric = page.inner_text("#rubric")
    assert "How to score the annotation (1\u20135)" in rubric
    assert "Excellent: every trigger is in the image" in rubric and "Unusable:" in rubric
    assert [t.strip() for t in page.locator("#rubric dt").all_inner_texts()] == list("54321")
    assert "1-5" in page.inner_text(".who") and "give that score" in page.inner_text(".shortcuts")
    page.keyboard.press("0")  # no such score: nothing is sent
    page.wait_for_timeout(300)
    assert page.url.endswith("/task/0") and site.current("pam") == {}
    press(page, "1", "/task/1")
    assert site.current("pam")["s0"].score == 1
    assert rater.errors == []


def test_a_0_to_5_campaign_shows_six_buttons_and_takes_a_0(chromium: Browser, site: Site) -> None:
    tokens = site.campaign("rate", ["olga"], sample_items(2, "o"), scale="0-5")
    rater = open_rater(chromium, site, tokens["olga"])
    page = rater.page
    assert page.locator("#scores button.score").all_inner_texts() == list("012345")
    assert "(0\u20135)" in page.inner_text("#rubric summary")
    assert "Unusable: empty, a refusal" in page.inner_text("#rubric")
    press(page, "0", "/task/1")
    assert site.current("olga")["o0"].score == 0
    assert rater.errors == []


def test_a_score_off_the_campaigns_scale_is_refused_with_its_own_422_page(site: Site) -> None:
    for scale, off, on in (("1-5", ["0", "6", "-1", "10"], "1"), ("0-5", ["6", "-1"], "0")):
        cookie, csrf = signin(site, site.campaign("rate", ["r"], sample_items(1, "q"), scale)["r"])
        for score in off:
            form = {"csrf": csrf, "item_id": "q0", "score": score}
            answer = httpx.post(f"{site.url}/task/0", data=form, headers=cookie)
            assert answer.status_code == 422, (scale, score, answer.text)
            assert "Not on the scale" in answer.text and f"{scale} scale" in answer.text
            assert "default-src 'none'" in answer.headers["content-security-policy"]
            assert site.current() == {}
        form = {"csrf": csrf, "item_id": "q0", "score": on}
        assert httpx.post(f"{site.url}/task/0", data=form, headers=cookie).status_code == 303
        assert site.current()["q0"].score == int(on)


def test_release_files_are_read_on_the_papers_1_to_5_scale_unless_told(tmp_path: Path) -> None:
    path = _write(tmp_path / "score_1.jsonl", '{"a.png": "5"}\n{"b.png": "0"}\n')
    with pytest.raises(DataError, match="score '0' is outside 1-5"):
        read_release_scores([path])
    assert read_release_scores([path], LEGACY_0_5) == {"1": {"a.png": 5.0, "b.png": 0.0}}


def test_the_scale_file_beside_exported_scores_names_their_scale(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _write(tmp_path / "a" / "score_1.jsonl", '{"a.png": "0"}\n')
    second = _write(tmp_path / "b" / "score_2.jsonl", '{"a.png": "5"}\n')
    assert scale_beside([first, second]) is None
    _write(tmp_path / "a" / "scale.json", '{"campaign": "c", "scale": {"name": "0-5"}}')
    assert scale_beside([first, second]) == LEGACY_0_5
    _write(tmp_path / "b" / "scale.json", '{"campaign": "d", "scale": {"name": "1-5"}}')
    with pytest.raises(DataError, match=r"names scale 1-5, but .* names 0-5"):
        scale_beside([first, second])
    _write(tmp_path / "b" / "scale.json", '{"scale": {"name": "1-10"}}')
    with pytest.raises(DataError, match="unknown rating scale '1-10'"):
        scale_beside([second])


def test_a_report_names_its_scale_and_counts_every_point_of_it(release_ratings: Ratings) -> None:
    report = rating_report(release_ratings, _basic, resamples=10, scale=PAPER_SCALE)
    assert report.scale == PAPER_SCALE
    assert report.raters["7866"] == {1: 0, 2: 4, 3: 28, 4: 93, 5: 75}
    shown = report.as_dict()
    assert shown["scale"] == {"name": "1-5", "low": 1, "high": 5}
    assert round(shown["overall"]["mean"], 3) == 4.416 and shown["n_items"] == 200
    assert rating_report(release_ratings, _basic, resamples=10).scale is None
    with pytest.raises(ValueError, match="scored 'b' 0, outside the 1-5 scale"):
        rating_report({"x": {"a": 1, "b": 0}}, _by_prefix, resamples=5, scale=PAPER_SCALE)
    on_0_5 = rating_report({"x": {"a": 1, "b": 0}}, _by_prefix, resamples=5, scale=LEGACY_0_5)
    assert on_0_5.raters == {"x": {0: 1, 1: 1, 2: 0, 3: 0, 4: 0, 5: 0}}
    lone = rating_report({"x": {"a": 1, "b": 2}}, _by_prefix, resamples=5, scale=PAPER_SCALE)
    assert math.isnan(lone.icc.estimate) and lone.as_dict()["icc_2_1"]["estimate"] is None
    json.dumps(lone.as_dict(), allow_nan=False)  # strict JSON: no NaN
