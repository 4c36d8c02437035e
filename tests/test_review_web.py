"""The review web app, served by uvicorn on loopback: raters in a real headless Chromium, and
the security checks with plain HTTP requests."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image

from eibench.cfsa.export import export_release
from eibench.records.annotation import Annotation
from eibench.review.app import COOKIE, create_app
from eibench.review.campaigns import (
    Campaign,
    Kind,
    Response,
    ReviewItem,
    create_campaign,
    responses,
)
from eibench.review.sources import build_items
from eibench.store import Store
from eibench.store.annotations import load_annotations, put_annotations
from tests.browser import chromium_fixture  # noqa: F401 (fixture)
from tests.release_factory import make_images

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
KEYS = [f"EmoSet-118k/image/excitement/excitement_{i:05d}.jpg" for i in range(12)]
BIG = "CAER-S/train/Happy/big.png"


class Server:
    """The app on a free loopback port, served by uvicorn from a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", loop="asyncio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True
        )

    def __enter__(self) -> Server:
        self.thread.start()
        for _ in range(1000):
            if self.server.started or not self.thread.is_alive():
                break
            time.sleep(0.01)
        assert self.server.started, "the review app did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@dataclass
class Site:
    """The served app: its URL, its workspace and the campaigns made so far."""

    url: str
    workspace: Path
    names: list[str] = field(default_factory=list)

    def campaign(
        self, kind: Kind, raters: list[str], found: list[ReviewItem], scale: str | None = None
    ) -> dict[str, str]:
        """A new campaign of `kind` over `found` (a rate one on `scale`, by default the paper's
        1-5); returns the login token per rater."""
        name = f"{kind}-{len(self.names)}"
        self.names.append(name)
        campaign = Campaign.model_validate(
            {"name": name, "kind": kind, "source": "basic", "raters": raters, "scale": scale}
        )
        with Store.open(self.workspace) as store:
            return create_campaign(store, campaign, found)

    def current(self, rater: str | None = None) -> dict[str, Response]:
        """The current responses in the latest campaign (of `rater`) by item id."""
        with Store.open(self.workspace) as store:
            return {r.item_id: r for r in responses(store, self.names[-1], rater)}

    def history(self, rater: str) -> list[Response]:
        """Every response of `rater` in the latest campaign, oldest first."""
        with Store.open(self.workspace) as store:
            return responses(store, self.names[-1], rater, history=True)


def sample_items(n: int, prefix: str, **extra: object) -> list[ReviewItem]:
    fields: dict[str, object] = {
        "split": "basic", "emotion": "excitement", "question": "Why is the girl excited?",
        "triggers": ["She holds a trophy.", "People applaud.", "Confetti falls."],
    } | extra  # fmt: skip
    return [
        ReviewItem.model_validate(
            {**fields, "item_id": f"{prefix}{i}", "image": KEYS[i % len(KEYS)]}
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    images = make_images(tmp_path_factory.mktemp("images"), KEYS, size=(64, 48))
    make_images(images, [BIG], size=(2000, 1000))
    workspace = tmp_path_factory.mktemp("workspace")
    with Server(create_app(workspace, None, images)) as server:
        yield Site(server.url, workspace)


@dataclass
class Rater:
    """A rater's browser page and the console errors and uncaught exceptions seen on it."""

    page: Page
    errors: list[str]


def open_rater(browser: Browser, site: Site, token: str) -> Rater:
    """A fresh browser context on a laptop-sized screen, logged in with `token`."""
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.set_default_timeout(5000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site.url}/login/{token}")
    return Rater(page, errors)


def press(page: Page, key: str, url_end: str) -> None:
    page.keyboard.press(key)
    page.wait_for_url(re.compile(re.escape(url_end) + "$"))


def progress(page: Page) -> str:
    return page.inner_text("#progress")


def test_rater_scores_with_the_keyboard_and_resumes_at_the_next_item(
    chromium: Browser, site: Site
) -> None:
    tokens = site.campaign("rate", ["ann"], sample_items(5, "r"))
    rater = open_rater(chromium, site, tokens["ann"])
    page = rater.page
    assert page.url.endswith("/task/0") and progress(page) == "0 / 5 done"
    press(page, "4", "/task/1")
    press(page, "2", "/task/2")
    press(page, "5", "/task/3")
    assert progress(page) == "3 / 5 done"
    page.reload()
    assert page.url.endswith("/task/3") and progress(page) == "3 / 5 done"
    again = open_rater(chromium, site, tokens["ann"])
    assert again.page.url.endswith("/task/3") and progress(again.page) == "3 / 5 done"
    assert {k: r.score for k, r in site.current("ann").items()} == {"r0": 4, "r1": 2, "r2": 5}
    press(page, "p", "/task/2")  # an answered item shows its score and can be changed
    assert page.get_attribute('button[data-key="5"]', "aria-pressed") == "true"
    assert page.is_visible("#answered")
    press(page, "3", "/task/3")
    assert site.current("ann")["r2"].score == 3
    assert [r.score for r in site.history("ann")] == [4, 2, 5, 3]
    assert rater.errors == [] and again.errors == []


def test_two_raters_at_once_each_see_only_their_own_progress(chromium: Browser, site: Site) -> None:
    tokens = site.campaign("rate", ["a", "b"], sample_items(3, "t"))
    a, b = (open_rater(chromium, site, tokens[r]).page for r in ("a", "b"))
    press(a, "1", "/task/1")
    b.reload()
    assert progress(a) == "1 / 3 done" and progress(b) == "0 / 3 done"
    press(b, "5", "/task/1")
    press(a, "2", "/task/2")
    b.reload()
    assert progress(a) == "2 / 3 done" and progress(b) == "1 / 3 done"
    assert {k: r.score for k, r in site.current("a").items()} == {"t0": 1, "t1": 2}
    assert {k: r.score for k, r in site.current("b").items()} == {"t0": 5}


def annotation(batch: str, image: str, triggers: list[str], question: str) -> Annotation:
    return Annotation(
        batch=batch, id=f"{batch}-{image[-9:-4]}", image=image, emotion="excitement",
        question=question, triggers=triggers,
    )  # fmt: skip


def test_refinement_removes_the_flagged_trigger_adds_one_and_exports(
    chromium: Browser, site: Site, tmp_path: Path
) -> None:
    draft = ["The man smiles widely.", "A dragon flies overhead.", "Friends cheer him on."]
    with Store.open(site.workspace) as store:
        put_annotations(
            store,
            [
                annotation("b1", KEYS[0], draft, "Why is the man excited?"),
                annotation("b1", KEYS[1], ["A bad draft."], "Why is she excited?"),
            ],
        )
        found = build_items(store, "refine", "annotations:b1")
    rater = open_rater(chromium, site, site.campaign("refine", ["rae"], found)["rae"])
    page = rater.page
    page.check("#flag-2-hallucinated")
    page.fill("#text-3", "Friends cheer him on loudly.")
    page.fill(".added >> nth=0", "His team just won the final.")
    page.click("#add-row")
    page.keyboard.type("Confetti is in the air.")
    page.keyboard.press("Enter")  # a new empty row, no submission
    page.keyboard.press("Escape")
    press(page, "a", "/task/1")
    press(page, "r", "/done")
    assert "All 2 items are done" in page.inner_text("#finished")

    with Store.open(site.workspace) as store:
        export_release(store, "b1", tmp_path / "out")
        statuses = {a.id: a.status for a in load_annotations(store, "b1")}
    lines = (tmp_path / "out/EI_Complex/ec_complex.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            KEYS[0]: {
                "Why is the man excited?": "1. The man smiles widely.\n2. Friends cheer him on "
                "loudly.\n3. His team just won the final.\n4. Confetti is in the air."
            }
        }
    ]
    assert statuses == {"b1-00000": "reviewed", "b1-00001": "rejected"}
    accepted = site.history("rae")[0].triggers or []
    assert [(t.text, t.original, t.flag) for t in accepted] == [
        ("The man smiles widely.", 1, None),
        ("A dragon flies overhead.", 2, "hallucinated"),  # the draft stays in the history
        ("Friends cheer him on loudly.", 3, None),
        ("His team just won the final.", None, None),
        ("Confetti is in the air.", None, None),
    ]
    page.goto(f"{site.url}/task/0")  # the form comes back as it was sent
    assert page.is_checked("#flag-2-hallucinated")
    assert page.input_value(".added >> nth=1") == "Confetti is in the air."
    assert "draft: Friends cheer him on." in page.inner_text("#edit-list")
    assert rater.errors == []


def test_audit_marks_each_trigger_covered_or_missed(chromium: Browser, site: Site) -> None:
    found = sample_items(2, "u", answer="She won a trophy and smiles.")
    rater = open_rater(chromium, site, site.campaign("audit", ["al"], found)["al"])
    page = rater.page
    page.focus("#covered-1")
    page.keyboard.press("y")  # trigger 1 covered; trigger 2 gets focus
    page.keyboard.press("n")  # trigger 2 missed
    page.keyboard.press("3")  # trigger 3 toggles to covered
    press(page, "Enter", "/task/1")
    assert site.current("al")["u0"].covered == [True, False, True]
    press(page, "p", "/task/0")
    checked = [page.is_checked(f"#{c}") for c in ("covered-1", "missed-2", "covered-3")]
    assert checked == [True, True, True] and "won a trophy" in page.inner_text("#answer")
    assert rater.errors == []


def test_markup_in_questions_triggers_and_answers_shows_as_text(
    chromium: Browser, site: Site
) -> None:
    evil = {"question": f"Why? {SCRIPT}", "triggers": [SCRIPT, IMG], "answer": f"{IMG} {SCRIPT}"}
    with Store.open(site.workspace) as store:
        put_annotations(store, [annotation("evil", KEYS[2], [SCRIPT, IMG], f"Why? {SCRIPT}")])
        drafts = build_items(store, "refine", "annotations:evil")
    cases: list[tuple[Kind, list[ReviewItem]]] = [
        ("rate", sample_items(1, "x", **evil)),
        ("audit", sample_items(1, "y", **evil)),
        ("refine", drafts),
    ]
    for kind, found in cases:
        rater = open_rater(chromium, site, site.campaign(kind, ["eve"], found)["eve"])
        page = rater.page
        assert page.evaluate("() => window.__pwned") is None
        assert page.inner_text("#question") == f"Why? {SCRIPT}"
        assert page.locator("img").count() == 1  # the item's own image only
        if kind == "refine":
            assert [page.input_value("#text-1"), page.input_value("#text-2")] == [SCRIPT, IMG]
        else:
            assert SCRIPT in page.inner_text("main") and IMG in page.inner_text("main")
        assert rater.errors == []


def signin(site: Site, token: str) -> tuple[dict[str, str], str]:
    """(the session cookie header, the CSRF token of its pages) after logging in with `token`."""
    login = httpx.get(f"{site.url}/login/{token}")
    assert login.status_code == 303
    assert "httponly" in login.headers["set-cookie"].lower()
    assert "samesite=strict" in login.headers["set-cookie"].lower()
    headers = {"Cookie": f"{COOKIE}={login.cookies[COOKIE]}"}
    page = httpx.get(f"{site.url}/task/0", headers=headers)
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found is not None
    return headers, found.group(1)


def test_posts_need_the_sessions_own_csrf_token_and_same_site(site: Site) -> None:
    tokens = site.campaign("rate", ["a", "b"], sample_items(2, "c"))
    (cookie_a, csrf_a), (cookie_b, csrf_b) = signin(site, tokens["a"]), signin(site, tokens["b"])
    url = f"{site.url}/task/0"
    form = {"item_id": "c0", "score": "3"}
    refused = [
        httpx.post(url, data=form, headers=cookie_a),
        httpx.post(url, data=form | {"csrf": csrf_b}, headers=cookie_a),
        httpx.post(url, data=form | {"csrf": csrf_a}, headers=cookie_b),
        httpx.post(url, data=form | {"csrf": csrf_a}),
        httpx.post(url, data=form | {"csrf": csrf_a}, headers={**cookie_a, "Origin": "http://x.y"}),
        httpx.post(f"{site.url}/logout", data={"csrf": csrf_b}, headers=cookie_a),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert site.current() == {}
    sent = httpx.post(url, data=form | {"csrf": csrf_b}, headers=cookie_b)
    assert (sent.status_code, sent.headers["location"]) == (303, "/task/1")
    assert list(site.current("b")) == ["c0"] and site.current("a") == {}


def test_bad_answers_are_refused_with_400_and_not_stored(site: Site) -> None:
    cases: list[tuple[Kind, list[dict[str, str | list[str]]]]] = [
        ("rate", [{"score": "4.0"}, {"score": "five"}, {}, {"score": ["1", "2"]}]),
        ("audit", [{"covered-1": "covered"}, {"covered-1": "covered", "covered-2": "missed",
                   "covered-3": "covered", "covered-4": "missed"}]),
        ("refine", [{"decision": "accept", "flag-1": "hallucinated", "flag-2": "irrelevant",
                     "flag-3": "irrelevant"}, {"decision": "maybe"}]),
    ]  # fmt: skip
    for kind, bad_forms in cases:
        found = sample_items(1, "e", answer="x", batch="none")
        cookie, csrf = signin(site, site.campaign(kind, ["r"], found)["r"])
        base: dict[str, str | list[str]] = {"csrf": csrf, "item_id": "e0"}
        base |= {f"text-{i}": "t" for i in (1, 2, 3)} | {f"flag-{i}": "keep" for i in (1, 2, 3)}
        wrong: dict[str, str | list[str]] = {"item_id": "x", "score": "1", "decision": "reject"}
        for bad in [*bad_forms, wrong]:
            answer = httpx.post(f"{site.url}/task/0", data=base | bad, headers=cookie)
            assert answer.status_code == 400, (kind, bad, answer.text)
        huge = base | {"score": "1", "decision": "reject", "note": "x" * 1_100_000}
        assert httpx.post(f"{site.url}/task/0", data=huge, headers=cookie).status_code == 413
        assert site.current() == {}


def test_many_answers_from_two_raters_at_once_are_all_stored(site: Site) -> None:
    tokens = site.campaign("rate", ["a", "b"], sample_items(8, "m"))
    sessions = {rater: signin(site, token) for rater, token in tokens.items()}

    def post(job: tuple[str, int]) -> int:
        cookie, csrf = sessions[job[0]]
        form = {"csrf": csrf, "item_id": f"m{job[1]}", "score": str(job[1] % 5 + 1)}
        return httpx.post(f"{site.url}/task/{job[1]}", data=form, headers=cookie).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, [(r, i) for i in range(8) for r in ("a", "b")]))
    assert codes == [303] * 16
    for rater in ("a", "b"):
        stored = {k: r.score for k, r in site.current(rater).items()}
        assert stored == {f"m{i}": i % 5 + 1 for i in range(8)}


def raw_get(site: Site, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (no client-side `..` clean-up)."""
    host, port = site.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    status, body = answer.status, answer.read()
    connection.close()
    return status, body


def test_images_are_served_by_stored_key_to_the_logged_in_rater_only(site: Site) -> None:
    first, second = sample_items(2, "i")
    found = [first.model_copy(update={"image": BIG}), second.model_copy(update={"image": "x.jpg"})]
    cookie, _ = signin(site, site.campaign("rate", ["r"], found)["r"])
    image = httpx.get(f"{site.url}/image/0", headers=cookie)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).size == (1600, 800)  # downscaled
    for path in ["/image/1", "/image/2", "/image/99", "/image/-1", "/image/abc"]:
        assert httpx.get(f"{site.url}{path}", headers=cookie).status_code == 404, path
    assert httpx.get(f"{site.url}/image/0").status_code == 401
    for path in [
        "/image/../../etc/passwd", "/image/..%2F..%2Fetc%2Fpasswd", "/static/../app.py",
        "/static/..%2Fapp.py", "/../../../etc/passwd", "/etc/passwd", "/templates/base.html",
    ]:  # fmt: skip
        status, body = raw_get(site, path)
        assert status in (403, 404) and b"root:" not in body and b"create_app" not in body, path


def test_without_an_image_root_pages_work_and_images_are_404(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        campaign = Campaign(name="n", kind="rate", source="basic", raters=["r"])
        token = create_campaign(store, campaign, sample_items(1, "n"))["r"]
    with Server(create_app(tmp_path, None, None)) as server:
        bare = Site(server.url, tmp_path, ["n"])
        cookie, _ = signin(bare, token)
        assert "No image root" in httpx.get(f"{server.url}/task/0", headers=cookie).text
        assert httpx.get(f"{server.url}/image/0", headers=cookie).status_code == 404


def test_login_links_and_the_home_page(site: Site) -> None:
    assert httpx.get(f"{site.url}/login/not-a-token").status_code == 403
    assert "set-cookie" not in httpx.get(f"{site.url}/login/not-a-token").headers
    assert "login link" in httpx.get(f"{site.url}/").text
    tokens = site.campaign("rate", ["h"], sample_items(1, "h"))
    cookie, _ = signin(site, tokens["h"])
    home = httpx.get(f"{site.url}/", headers=cookie)
    assert (home.status_code, home.headers["location"]) == (303, "/task/0")
    assert "default-src 'none'" in home.headers["content-security-policy"]


def test_a_login_link_opened_from_another_site_signs_in(chromium: Browser, site: Site) -> None:
    # A SameSite=Strict cookie does not follow a redirect that another site started.
    token = site.campaign("rate", ["w"], sample_items(2, "w"))["w"]
    page = chromium.new_context().new_page()
    page.set_default_timeout(5000)
    link = f'<a id="link" href="{site.url}/login/{token}">your review link</a>'
    page.route("http://mail.example/", lambda route: route.fulfill(body=link))
    page.goto("http://mail.example/")
    page.click("#link")
    page.wait_for_url(re.compile(r"/task/0$"))
    assert progress(page) == "0 / 2 done"


def test_the_layout_fits_a_laptop_screen_and_the_image_zooms(chromium: Browser, site: Site) -> None:
    found = [sample_items(1, "z")[0].model_copy(update={"image": BIG})]
    rater = open_rater(chromium, site, site.campaign("rate", ["z"], found)["z"])
    page = rater.page
    page.wait_for_function("() => document.getElementById('photo').complete")
    image, form = page.locator("#image-panel").bounding_box(), page.locator(".form-panel")
    assert image is not None and (box := form.bounding_box()) is not None
    assert image["x"] + image["width"] <= box["x"] + 1 and image["x"] < 10
    assert page.evaluate("() => document.documentElement.scrollHeight") <= 768
    page.click("#photo")
    assert "zoomed" in (page.get_attribute("#photo", "class") or "")
    scrolls = "() => { const p = document.getElementById('image-panel');"
    assert page.evaluate(scrolls + " return p.scrollWidth > p.clientWidth; }")
    page.keyboard.press("z")
    assert "zoomed" not in (page.get_attribute("#photo", "class") or "")
    assert rater.errors == []
