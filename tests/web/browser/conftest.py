"""Browser tests of the web UI: pytest-playwright driving Debian's chromium against a real API
process on a loopback port.

Playwright's own browser download cannot work on an air-gapped box, so the browser is the
distribution's (``/usr/bin/chromium``, installed by ``.ci/run``); without it these tests skip. One
browser serves each module (these fixtures narrow pytest-playwright's session-scoped ones), each
test gets a fresh context and page, and every page is watched: a request to anything but the appliance is
aborted and fails the test, and so does any console error or uncaught page error.

``SEALFORGE_SCREENSHOTS=<dir>`` (``make screenshots``) makes the tests save the pictures of
docs/ui.md there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """Playwright per browser module, not per session.

    Between its calls the sync API leaves its event loop marked as running in the main thread, so
    while it lives every ``asyncio.run`` in the same pytest process fails (the OPC UA client tests
    use one). Stopping it at the end of each browser module gives the loop back to the tests that
    an xdist worker runs afterwards."""
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def browser_type(playwright: Any, browser_name: str) -> Any:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: Any) -> Any:
    return lambda **kwargs: browser_type.launch(**{**browser_type_launch_args, **kwargs})


@pytest.fixture(scope="module")
def browser(launch_browser: Any) -> Iterator[Any]:
    opened = launch_browser()
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The system chromium, never a downloaded one."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True}


@pytest.fixture(scope="module")
def browser_context_args() -> dict[str, Any]:
    """Every page at the UI's reference size, downloads kept (no device emulation, no video)."""
    return {"viewport": VIEWPORT, "accept_downloads": True}


@dataclass
class Watch:
    """What a page did that a test must not let pass: requests off the appliance, console errors."""

    origin: str = ""
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    allowed_errors: list[str] = field(default_factory=list)

    def allow_error(self, fragment: str) -> None:
        """A console error this test causes on purpose (named, so nothing else slips through)."""
        self.allowed_errors.append(fragment)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(fragment in e for fragment in self.allowed_errors)]


@pytest.fixture(autouse=True)
def watch(page: Any) -> Iterator[Watch]:
    """Every browser test's guard (autouse): the test sets the appliance's origin with
    ``watch.origin = url`` before its first navigation (``open_ui`` does)."""
    seen = Watch()

    def guard(route: Any) -> None:
        url = route.request.url
        if (seen.origin and (url == seen.origin or url.startswith(seen.origin + "/"))) or url.startswith("data:"):
            route.continue_()
        else:
            seen.outside.append(url)
            route.abort()

    page.context.route("**/*", guard)
    page.on("console", lambda msg: seen.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(f"uncaught: {exc}"))
    yield seen
    assert seen.origin, "the test never told the guard the appliance's origin"
    assert not seen.outside, f"requests left the appliance: {seen.outside}"
    assert not seen.unexpected_errors(), f"console errors: {seen.unexpected_errors()}"


def screenshot(page: Any, name: str) -> None:
    """Save the page for docs/ui.md when the run was asked to (``make screenshots``)."""
    folder = os.environ.get("SEALFORGE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


PASSWORD = "correct horse battery staple"


@dataclass
class Site:
    """One appliance for a test module: its URL, state dir, a key of each scope, users of each scope."""

    url: str
    state_dir: Path
    tenant_id: str
    keys: dict[str, str]
    users: dict[str, str]
    logs: Path


def make_site_state(state: Path) -> tuple[str, dict[str, str], dict[str, str]]:
    """A tenant with credits, an API key and a user (PASSWORD) of each scope, written before the API starts."""
    from appliance.cli.release import release
    from appliance.services import identity
    from appliance.store.open import open_db

    db = open_db(state)
    tenant = identity.create_tenant(db, "plant-7", credits=1000)
    keys, users = {}, {}
    for scope in ("read", "generate", "admin"):
        keys[scope] = identity.create_key(db, tenant["id"], [scope])["api_key"]
        users[scope] = identity.create_user(db, tenant["id"], f"{scope}@plant.example", PASSWORD, [scope])["email"]
    release(state)
    return str(tenant["id"]), keys, users


def open_ui(page: Any, watch: Watch, site: Site, path: str = "/") -> None:
    watch.origin = site.url
    page.goto(site.url + path)


def log_in(page: Any, watch: Watch, site: Site, scope: str, path: str = "/") -> None:
    """Through the login form, as a person would; lands on ``path``."""
    open_ui(page, watch, site, path)
    page.get_by_label("Email").fill(site.users[scope])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site.url + path)
