"""A real headless Chromium for browser tests, through Playwright's sync API.

Import the fixture into a test module (`from tests.browser import chromium_fixture`) to get a
`chromium` browser shared by that module's tests; open pages with `open_page`, which records
console errors, page errors and any request that leaves the local file. When Chromium or
Playwright is missing the fixture fails with the fix, it never skips.

The browser lives for one module, not the whole session: while Playwright's sync API is open
its event loop counts as running on the main thread, so any later test that calls
`asyncio.run` would fail with "cannot be called from a running event loop".
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
INSTALL_HINT = "apt-get install -y --no-install-recommends chromium"


@dataclass
class WatchedPage:
    """A page with what went wrong on it: console errors, uncaught exceptions, and requests
    for anything other than the opened file and data: URIs."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """Fail when the page logged an error, threw, or reached beyond its own file."""
        assert self.errors == [], f"errors on the page: {self.errors}"
        assert self.requests == [], f"requests that leave the file: {self.requests}"

    def close(self) -> None:
        """Close the page's browser context."""
        self.page.context.close()


@pytest.fixture(scope="module", name="chromium")
def chromium_fixture() -> Iterator[Browser]:
    """One headless Chromium for the tests of a module, closed before the next module runs."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        pytest.fail(
            f"browser tests need Chromium at {CHROMIUM} (found: {found}); "
            f"install it with `{INSTALL_HINT}`",
            pytrace=False,
        )
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.fail(
            "browser tests need the Python playwright package: pip install -e '.[dev]'",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
            )
        except Error as error:
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {error}", pytrace=False)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Browser, url: str) -> WatchedPage:
    """Open `url` in a fresh context of `browser`, watching it from before the first byte."""
    page = browser.new_context().new_page()
    watched = WatchedPage(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"console: {message.text}")

    def on_page_error(error: Exception) -> None:
        watched.errors.append(f"page error: {error}")

    def on_request(request: Request) -> None:
        if not request.url.startswith((url, "data:")):
            watched.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("request", on_request)
    page.goto(url)
    return watched
