"""Helpers of the web UI browser tests: a live server in a thread, a Playwright page that
records JavaScript errors and saves screenshots, and the chromium settings."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "BrowserPage", "UiServer", "free_port", "report_dir"]

CHROMIUM = os.environ.get("LOCKGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class UiServer:
    """``create_app(**kwargs)`` served by uvicorn in a thread of the test process."""

    def __init__(self, **kwargs: Any) -> None:
        import uvicorn
        from lockgate.server.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(**kwargs), host="127.0.0.1", port=self.port,
                                log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def report_dir() -> Path:
    """Where screenshots go: LOCKGATE_REPORT_DIR/ui-screenshots, else a temp folder."""
    base = os.environ.get("LOCKGATE_REPORT_DIR")
    path = Path(base) / "ui-screenshots" if base else Path(tempfile.gettempdir()) / "lockgate-ui-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


class BrowserPage:
    """A Playwright page that records JavaScript errors and saves named screenshots."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.js_errors: list[str] = []
        self.console_errors: list[str] = []
        page.on("pageerror", lambda exc: self.js_errors.append(str(exc)))
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)

    def goto(self, path: str) -> Any:
        self.page.goto(self.base_url + path)
        return self.page

    def screenshot(self, name: str) -> Path:
        target = report_dir() / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=False)
        docs = os.environ.get("LOCKGATE_UI_DOCS_SCREENSHOTS")
        if docs:  # regenerates the pictures in docs/ui.md
            shutil.copy(target, ROOT / "docs" / "images" / "ui" / target.name)
        return target

    def assert_no_js_errors(self, *, allow_http_errors: bool = False) -> None:
        assert self.js_errors == [], self.js_errors
        console = [m for m in self.console_errors
                   if not (allow_http_errors and "Failed to load resource" in m)]
        assert console == [], console


