"""One live Lockgate server per test module with the UI, data logged through the client over
REST, and a headless Debian chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_support import CHROMIUM, CHROMIUM_FLAGS, BrowserPage, UiServer


@pytest.fixture(scope="module")
def start_ui_server() -> Iterator[Callable[..., UiServer]]:
    servers: list[UiServer] = []

    def start(**kwargs: Any) -> UiServer:
        server = UiServer(**kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium "
                    "(tests/_services.py ensure_chromium); run `apt-get install -y chromium`.")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., BrowserPage]]:
    contexts: list[Any] = []

    def make(base_url: str, *, color_scheme: str = "light") -> BrowserPage:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme=color_scheme)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return BrowserPage(page, base_url)

    yield make
    for context in contexts:
        context.close()
