"""A fresh appliance's first admin, made in chromium as a plant engineer does it (issue #22): the
login page links to `/setup`, the form takes the console's setup key, an email and a password,
and lands on the overview logged in as an admin who can then make the other users; the page
refuses after that, by keyboard as by mouse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live_appliance import api_process
from tests.web.browser.conftest import PASSWORD, Site, Watch, open_ui, screenshot


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The state the image's first boot leaves: the tenant `default`, an `operator` setup key, no user."""
    from appliance.cli.release import release
    from appliance.services import identity
    from appliance.store.open import open_db

    folder = tmp_path_factory.mktemp("ui-setup")
    state = folder / "var"
    db = open_db(state)
    tenant = identity.create_tenant(db, identity.DEFAULT_TENANT)
    setup_key = identity.create_key(db, tenant["id"], ["operator"], name="console setup key", allow_operator=True)
    release(state)
    with api_process(state, folder / "api.log", {"SEALFORGE_RATELIMIT_ENABLED": "false"}) as api:
        yield Site(api.url, state, tenant["id"], {"operator": setup_key["api_key"]}, {}, folder)


def test_first_admin_from_the_login_page(page: Any, watch: Watch, site: Site) -> None:
    open_ui(page, watch, site, "/login")
    page.get_by_role("link", name="Set up the first admin").click()
    expect(page.locator("h1")).to_have_text("Set up the first admin")
    page.get_by_label("Setup key").fill("sl_live_not-the-key")
    page.get_by_label("Email").fill("chief@plant.example")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    watch.allow_error("403")  # the refused form comes back as a 403 page, which chromium logs
    page.get_by_test_id("setup-submit").click()
    expect(page.get_by_test_id("setup-error")).to_contain_text("unknown or revoked")
    expect(page.get_by_label("Email")).to_have_value("chief@plant.example")
    screenshot(page, "page-setup")
    page.get_by_label("Setup key").fill(site.keys["operator"])
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("Password again").press("Enter")
    page.wait_for_url(site.url + "/")
    expect(page.get_by_test_id("user")).to_have_text("chief@plant.example")
    expect(page.get_by_test_id("scopes")).to_have_text("read, generate, admin")
    page.get_by_role("link", name="Admin").click()
    page.goto(site.url + "/admin/users")
    expect(page.get_by_test_id("users")).to_contain_text("chief@plant.example")
    watch.allow_error("409")
    answer = page.goto(site.url + "/setup")
    assert answer is not None and answer.status == 409
    expect(page.get_by_test_id("setup-done")).to_be_visible()
