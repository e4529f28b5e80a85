"""A session left alone ends after `[ui] idle_timeout_s`, even with the overview refreshing itself
in the background: the page then goes to the login form by itself, and comes back after login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.live_appliance import api_process
from tests.web.browser.conftest import Site, Watch, log_in, make_site_state, open_ui

IDLE_S = 3


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("ui-idle")
    state = folder / "var"
    tenant_id, keys, users = make_site_state(state)
    env = {
        "SEALFORGE_RATELIMIT_ENABLED": "false",
        "SEALFORGE_UI_IDLE_TIMEOUT_S": str(IDLE_S),
    }
    with api_process(state, folder / "api.log", env) as api:
        yield Site(api.url, state, tenant_id, keys, users, folder)


def test_an_idle_session_ends_and_the_page_asks_to_log_in(page: Any, watch: Watch, site: Site) -> None:
    log_in(page, watch, site, "read")
    expect(page.get_by_test_id("health")).to_be_visible()
    # the overview re-reads its live part once per idle timeout (and when its stream says something
    # changed); none of that is the user's activity, so once the idle timeout has passed that read
    # is refused and htmx follows it to the login form
    watch.allow_error("status of 401")  # that refused read, reported by chromium
    expect(page).to_have_url(re.compile(r"/login\?next=/$"), timeout=IDLE_S * 5000)
    open_ui(page, watch, site, "/jobs")
    expect(page).to_have_url(re.compile(r"/login\?next=/jobs$"))


def test_the_guard_and_the_csp_stop_requests_off_the_appliance(page: Any, watch: Watch, site: Site) -> None:
    open_ui(page, watch, site, "/login")
    page.evaluate("fetch('http://192.0.2.1/beacon').catch(() => null)")  # a page's script: the CSP refuses
    expect(page.get_by_label("Email")).to_be_visible()
    assert any("Content Security Policy" in e for e in watch.errors)
    with pytest.raises(PlaywrightError):
        page.goto("http://192.0.2.1/elsewhere")  # past the CSP (a navigation): the guard aborts it
    assert watch.outside == ["http://192.0.2.1/elsewhere"]
    watch.outside.clear()  # both seen on purpose: the guards work
    watch.allow_error("192.0.2.1")
