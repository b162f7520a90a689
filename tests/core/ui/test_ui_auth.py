"""The web UI on a server with auth on: a login form (no browser Basic prompt), wrong and
expired credentials refused, only readable experiments listed, no restore button for READ."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from ui_support import BrowserPage, UiServer


@pytest.fixture(scope="module")
def secured(start_ui_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from lockgate.client import LockgateClient
    from lockgate.server.auth.store import AuthStore

    tmp = tmp_path_factory.mktemp("ui-auth")
    uri = f"sqlite:///{tmp / 'auth.db'}"
    client = LockgateClient(tracking_uri=uri, user="admin")
    shared = client.create_experiment("shared-exp")
    client.create_experiment("private-exp")
    run = client.create_run(shared, run_name="old-run", context_tags=False).info.run_id
    client.delete_run(run)
    auth = AuthStore(uri)
    auth.create_user("admin", "admin-pass-123", admin=True)
    auth.create_user("reader", "reader-pass-123")
    auth.grant("reader", "experiment", shared, "READ")
    expiring = auth.create_token("reader", name="short", expires_in_s=1)
    server: UiServer = start_ui_server(backend_store_uri=uri, artifacts_destination=str(tmp / "art"), auth=True)
    time.sleep(1.2)  # the token above is expired from here on
    return {"url": server.url, "shared": shared, "run": run, "expired": expiring}


def _login(page: Any, user: str, password: str) -> None:
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password or API token").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_wrong_and_expired_logins_are_refused_with_a_message(secured: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(secured["url"])
    page = bp.goto("/")
    page.get_by_role("heading", name="Sign in to Lockgate").wait_for()
    _login(page, "reader", "wrong-password")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == "Invalid user name or password."
    assert page.get_by_test_id("experiments-table").count() == 0
    bp.screenshot("login-refused")
    _login(page, "reader", secured["expired"])
    page.wait_for_function("() => document.querySelector('[role=alert]').textContent === 'Invalid user name or password.'")
    # the API answers the UI without a Basic challenge (no browser pop-up), others with one
    plain = httpx.get(secured["url"] + "/api/v1/experiments/search")
    ui = httpx.get(secured["url"] + "/api/v1/experiments/search", headers={"x-lockgate-ui": "1"})
    assert plain.status_code == ui.status_code == 401
    assert "www-authenticate" in plain.headers and "www-authenticate" not in ui.headers
    bp.assert_no_js_errors(allow_http_errors=True)


def test_reader_sees_only_readable_data_and_no_restore_button(secured: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(secured["url"])
    page = bp.goto(f"/runs/{secured['run']}")
    _login(page, "reader", "reader-pass-123")
    banner = page.get_by_test_id("deleted-message")
    banner.wait_for()
    page.wait_for_timeout(300)  # let the permission answer arrive: the button must stay absent
    assert banner.get_by_role("button").count() == 0
    page = bp.goto("/")
    table = page.get_by_test_id("experiments-table")
    table.locator("tbody tr", has_text="shared-exp").wait_for()
    assert "private-exp" not in table.inner_text()
    bp.assert_no_js_errors(allow_http_errors=True)


def test_admin_may_restore_a_deleted_run(secured: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(secured["url"])
    page = bp.goto(f"/runs/{secured['run']}")
    _login(page, "admin", "admin-pass-123")
    page.get_by_test_id("deleted-message").get_by_role("button", name="Restore run").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to Lockgate").wait_for()
    bp.assert_no_js_errors(allow_http_errors=True)
