from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from submission import helpers

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def published(tmp_path_factory):
    """``(results, site)``: the tiny suite's built-in results plus one published submission, and its site."""
    return helpers.published_site(tmp_path_factory)


@pytest.fixture(scope="session")
def browser():
    """Debian's headless chromium driven by playwright (never playwright's own browser download)."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no chromium here (/usr/bin/chromium): .ci/run installs Debian's chromium package; "
                    "run `sudo apt-get install chromium` to run the browser tests locally")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra: "
                                                                   "pip install -e '.[dev]'")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists()
                                                              else shutil.which("chromium")), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and uncaught exceptions, and refuses any network request."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    context.close()
