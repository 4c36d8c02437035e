"""The review app's defences, over real HTTP to uvicorn on loopback with a real run store:
server-side sessions that end at sign-out, the limit on wrong login links, images that are
bombs or damaged, error pages that keep the security headers (a genuinely full disk: a 2 MiB
tmpfs, mounted as root), and the Secure cookie flag of `eibench review serve --secure-cookies`.
"""

from __future__ import annotations

import errno
import io
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from eibench.review.app import COOKIE, create_app
from eibench.review.campaigns import Campaign, create_campaign, responses, token_hash
from eibench.review.throttle import LoginThrottle
from eibench.review.web import CSP
from eibench.store import Store
from tests.release_factory import make_images
from tests.test_review_web import KEYS, Server, Site, sample_items, signin

BOMB = "bombs/bomb.png"  # 200 M pixels: Pillow's DecompressionBombError
OVER = "bombs/over.png"  # 100 M pixels: over Pillow's warning limit
GARBAGE = "broken/garbage.jpg"  # not an image at all
TRUNCATED = "broken/truncated.png"  # a large PNG cut short: fails while it is downscaled


def campaign(workspace: Path, raters: list[str], found: list, name: str = "c") -> dict[str, str]:
    with Store.open(workspace) as store:
        made = Campaign(name=name, kind="rate", source="basic", raters=raters)
        return create_campaign(store, made, found)


def assert_own_page(response: httpx.Response, status: int, title: str) -> None:
    """`response` is the app's own HTML message page, with every security header."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert f"<h1>{title}</h1>" in response.text and 'href="/static/review.css"' in response.text


def test_signing_out_ends_the_session_on_the_server(tmp_path: Path) -> None:
    token = campaign(tmp_path, ["r"], sample_items(2, "s"))["r"]
    with Server(create_app(tmp_path, None, None)) as server:
        site = Site(server.url, tmp_path, ["c"])
        cookie, csrf = signin(site, token)
        session_id = cookie["Cookie"].split("=", 1)[1]
        assert session_id != token  # the cookie is a session id, not the login token
        dump = "\n".join(sqlite3.connect(tmp_path / "eibench.sqlite").iterdump())
        assert session_id not in dump and token_hash(session_id) in dump
        other_cookie, other_csrf = signin(site, token)  # a second session of the same rater
        assert other_csrf != csrf
        form = {"item_id": "s0", "score": "2"}
        crossed = httpx.post(f"{server.url}/task/0", data=form | {"csrf": other_csrf},
                             headers=cookie)  # fmt: skip
        assert crossed.status_code == 403  # a CSRF token belongs to its own session only

        out = httpx.post(f"{server.url}/logout", data={"csrf": csrf}, headers=cookie)
        assert out.status_code == 200 and "Signed out" in out.text
        assert f'{COOKIE}=""' in out.headers["set-cookie"]
        assert httpx.get(f"{server.url}/task/0", headers=cookie).status_code == 401
        replay = httpx.post(f"{server.url}/task/0", data=form | {"csrf": csrf}, headers=cookie)
        assert replay.status_code == 403
        assert httpx.get(f"{server.url}/task/0", headers=other_cookie).status_code == 200
        again, _ = signin(site, token)  # the login link itself still works
        assert again != cookie


def test_wrong_login_links_are_throttled_per_address(tmp_path: Path) -> None:
    token = campaign(tmp_path, ["r"], sample_items(1, "t"))["r"]
    with Server(create_app(tmp_path, None, None)) as server:
        wrong = [httpx.get(f"{server.url}/login/wrong-{i}").status_code for i in range(10)]
        assert wrong == [403] * 10
        for path in ("/login/wrong-again", f"/login/{token}"):  # the right link waits too
            blocked = httpx.get(f"{server.url}{path}")
            assert_own_page(blocked, 429, "Too many tries")
            assert 1 <= int(blocked.headers["retry-after"]) <= 60
            assert "set-cookie" not in blocked.headers
        elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=elsewhere) as client:  # another address is not held back
            assert client.get(f"{server.url}/login/{token}").status_code == 303
            assert client.get(f"{server.url}/login/wrong").status_code == 403


def test_the_login_limit_lifts_after_its_window(tmp_path: Path) -> None:
    token = campaign(tmp_path, ["r"], sample_items(1, "w"))["r"]
    throttle = LoginThrottle(limit=2, window=0.5)
    with Server(create_app(tmp_path, None, None, throttle=throttle)) as server:
        codes = [httpx.get(f"{server.url}/login/nope").status_code for _ in range(3)]
        assert codes == [403, 403, 429]
        time.sleep(0.6)
        assert httpx.get(f"{server.url}/login/{token}").status_code == 303


def test_the_throttle_counts_per_address_and_forgets_the_oldest() -> None:
    now = [100.0]
    throttle = LoginThrottle(limit=3, window=60, max_addresses=2, clock=lambda: now[0])
    for step in range(3):
        assert throttle.retry_after("a") is None
        throttle.failed("a")
        now[0] += 10 * (step < 2)  # failures at 100, 110 and 120
    assert throttle.retry_after("a") == 40  # the failure at 100 leaves the window at 160
    assert throttle.retry_after("b") is None
    now[0] = 160.0
    assert throttle.retry_after("a") is None
    throttle.failed("a")
    assert throttle.retry_after("a") == 10  # 110, 120, 160: 110 leaves at 170
    throttle.failed("b")
    throttle.failed("c")  # a third address: "a", the least recent, is forgotten
    assert throttle.retry_after("a") is None


@pytest.fixture(scope="module")
def bad_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_images(tmp_path_factory.mktemp("images"), KEYS[:1], size=(64, 48))
    for key, size in ((BOMB, (20000, 10000)), (OVER, (10000, 10000))):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        Image.new("1", size).save(root / key)
    (root / GARBAGE).parent.mkdir(parents=True)
    (root / GARBAGE).write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG" * 10)
    noisy = io.BytesIO()
    Image.effect_noise((2400, 1800), 64).save(noisy, format="PNG")
    (root / TRUNCATED).write_bytes(noisy.getvalue()[: len(noisy.getvalue()) // 2])
    return root


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bomb_and_damaged_images_get_an_error_page_and_the_server_goes_on(
    tmp_path: Path, bad_images: Path
) -> None:
    keys = [KEYS[0], BOMB, OVER, GARBAGE, TRUNCATED]
    found = [
        sample_items(1, f"b{i}")[0].model_copy(update={"image": k}) for i, k in enumerate(keys)
    ]
    token = campaign(tmp_path, ["r"], found)["r"]
    with Server(create_app(tmp_path, None, bad_images)) as server:
        cookie, _ = signin(Site(server.url, tmp_path, ["c"]), token)
        for position in range(1, 5):
            refused = httpx.get(f"{server.url}/image/{position}", headers=cookie)
            assert_own_page(refused, 422, "Image cannot be shown")
            good = httpx.get(f"{server.url}/image/0", headers=cookie)
            assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg"
        assert httpx.get(f"{server.url}/task/1", headers=cookie).status_code == 200


def test_an_unexpected_error_gives_a_500_page_with_the_security_headers(tmp_path: Path) -> None:
    token = campaign(tmp_path, ["r"], sample_items(2, "u"))["r"]
    with Server(create_app(tmp_path, None, None)) as server:
        cookie, _ = signin(Site(server.url, tmp_path, ["c"]), token)
        with sqlite3.connect(tmp_path / "eibench.sqlite") as db:  # a broken row in the store
            db.execute("UPDATE review_items SET record = '{not json' WHERE position = 1")
        broken = httpx.get(f"{server.url}/task/0", headers=cookie)
        assert_own_page(broken, 500, "Something went wrong")
        assert "Traceback" not in broken.text and "not json" not in broken.text
        assert httpx.get(f"{server.url}/static/review.css").status_code == 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_secure_cookies_marks_the_session_cookie_secure(tmp_path: Path) -> None:
    token = campaign(tmp_path, ["r"], sample_items(1, "k"))["r"]
    with Server(create_app(tmp_path, None, None)) as server:  # the default: not Secure
        plain = httpx.get(f"{server.url}/login/{token}").headers["set-cookie"].lower()
        assert "httponly" in plain and "secure" not in plain
    port = free_port()
    command = [sys.executable, "-m", "eibench", "review", "serve", "--secure-cookies",
               "--port", str(port), "--workspace", str(tmp_path)]  # fmt: skip
    server_process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
    try:
        for _ in range(300):
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/login/{token}", timeout=1)
                break
            except httpx.TransportError:
                assert server_process.poll() is None, server_process.communicate()[1]
                time.sleep(0.05)
        else:
            pytest.fail("eibench review serve did not start")
        assert login.status_code == 303
        attributes = [part.strip().lower() for part in login.headers["set-cookie"].split(";")]
        assert "secure" in attributes and "httponly" in attributes
    finally:
        server_process.terminate()
        server_process.wait(10)


def fill(disk: Path, name: str) -> Path:
    """Write `disk/name` until the disk has no byte left."""
    path = disk / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (b"\0" * 65536, b"\0"):
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return path


def test_a_full_disk_gets_the_apps_own_error_page_and_the_server_recovers(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workspace = small_disk / "ws"
    token = campaign(workspace, ["r"], sample_items(2, "f"))["r"]
    answer = {"item_id": "f0", "score": "3"}
    with Server(create_app(workspace, None, None)) as server:
        cookie, csrf = signin(Site(server.url, workspace, ["c"]), token)
        # An open connection keeps the WAL index, so pages can still be read; empty the WAL so
        # that any write needs new space.
        keeper = sqlite3.connect(workspace / "eibench.sqlite")
        keeper.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        fillers = [fill(small_disk, "filler-1")]
        assert httpx.get(f"{server.url}/task/0", headers=cookie).status_code == 200
        sent = httpx.post(f"{server.url}/task/0", data=answer | {"csrf": csrf}, headers=cookie)
        assert_own_page(sent, 503, "Temporarily unavailable")
        assert sent.headers["retry-after"] == "60" and "disk may be full" in sent.text
        assert_own_page(httpx.get(f"{server.url}/login/{token}"), 503, "Temporarily unavailable")
        failures = [r.exc_info[1] for r in caplog.records if r.exc_info and r.exc_info[1]]
        assert any(isinstance(e, sqlite3.OperationalError) and "full" in str(e) for e in failures)
        keeper.close()  # now the store cannot even be opened
        fillers.append(fill(small_disk, "filler-2"))
        for path in ("/", "/task/0", "/done", f"/login/{token}"):
            assert_own_page(httpx.get(f"{server.url}{path}", headers=cookie), 503,
                            "Temporarily unavailable")  # fmt: skip
        for filler in fillers:
            filler.unlink()
        again = httpx.post(f"{server.url}/task/0", data=answer | {"csrf": csrf}, headers=cookie)
        assert (again.status_code, again.headers["location"]) == (303, "/task/1")
    with Store.open(workspace) as store:
        assert [r.score for r in responses(store, "c")] == [3]
