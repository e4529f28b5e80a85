"""Every page of the web UI opened in chromium, under the guard every browser test has (no request
off the appliance, no console error): one appliance with no worker, one admin login, each page in
turn, and its picture for docs/ui.md under ``make screenshots``.

The flows of issue #17 drive most pages in the other modules; this one makes sure none is left out
(admin users and credits are on no flow). Pages that need a finished job or a live run are opened
by the flows that make them: a seal (test_flows), a live plant, its trends and point map
(test_plant_flows). `test_pages_the_flows_open` below holds that list to the UI's routes, so a new
page fails here until some browser test opens it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import mock_schema
from tests.live_appliance import api_process
from tests.web.browser.conftest import Site, Watch, log_in, make_site_state, screenshot

CSV = "id,flow,site\n" + "".join(f"{i},{10 + (i % 9) * 0.75},{'abc'[i % 3]}\n" for i in range(60))

# Pages a flow of another module opens, with the test that does.
OPENED_BY_FLOWS = {
    "/evidence/<string:job_id>": "test_flows.py::test_download_and_verify_evidence",
    "/plant/<string:run_id>": "test_plant_flows.py::test_start_a_live_run_and_watch_values_change",
    "/plant/<string:run_id>/trends": "test_plant_flows.py (trends and point map)",
    "/plant/<string:run_id>/points": "test_plant_flows.py (trends and point map)",
    "/setup": "test_setup_flow.py::test_first_admin_from_the_login_page",
}
# Pages whose picture in docs/ui.md a flow takes (with something more telling on them).
PICTURED_BY_FLOWS = {
    "/", "/jobs/<string:job_id>", "/alarms", "/datasets/<string:dataset_id>", "/generate/mock", "/admin/audit",
}
# Routes that are parts of pages (htmx fragments, data, downloads), not pages.
NOT_PAGES = {
    "/overview/live",
    "/jobs/<string:job_id>/panel",
    "/datasets/<string:dataset_id>/profile",
    "/generate/scenario/<string:job_id>/series",
    "/admin/audit/verify",
    "/evidence/trust-file",
    "/logout",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An API process and no worker: jobs stay queued, which is all these pages need."""
    folder = tmp_path_factory.mktemp("ui-every-page")
    state = folder / "var"
    tenant_id, keys, users = make_site_state(state)
    with api_process(state, folder / "api.log", {"SEALFORGE_RATELIMIT_ENABLED": "false"}) as api:
        yield Site(api.url, state, tenant_id, keys, users, folder)


def _page_paths(site: Site) -> dict[str, str]:
    """Each page's route and a path that opens it on this appliance (made through the API)."""
    headers = {"X-API-Key": site.keys["generate"]}
    uploaded = httpx.post(
        f"{site.url}/v1/datasets?name=flows.csv", content=CSV.encode(),
        headers={**headers, "Content-Type": "text/csv"}, timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    dataset_id = uploaded.json()["id"]
    body = {"kind": "mock", "queue": "gpu", "params": {"schema": mock_schema(10)}}
    job = httpx.post(f"{site.url}/v1/jobs", json=body, headers=headers, timeout=30)
    assert job.status_code == 202, job.text
    return {
        "/": "/",
        "/jobs": "/jobs",
        "/jobs/<string:job_id>": f"/jobs/{job.json()['id']}",
        "/evidence": "/evidence",
        "/plant": "/plant",
        "/alarms": "/alarms",
        "/datasets": "/datasets",
        "/datasets/<string:dataset_id>": f"/datasets/{dataset_id}",
        "/generate/mock": "/generate/mock",
        "/generate/scenario": "/generate/scenario",
        "/generate/synthesize": f"/generate/synthesize?dataset={dataset_id}",
        "/admin/keys": "/admin/keys",
        "/admin/users": "/admin/users",
        "/admin/credits": "/admin/credits",
        "/admin/audit": "/admin/audit",
        "/admin/signing-keys": "/admin/signing-keys",
    }


# Every visible piece of text against the background it sits on: WCAG 2 contrast, 4.5:1 (3:1 for
# large text: 24 px, or 18.66 px bold). Backgrounds are the nearest opaque ancestor's.
CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || s.display === "none") continue;
    const [a, b] = [lum(rgb(s.color).slice(0, 3)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) low.push(el.tagName + " '" + el.textContent.trim().slice(0, 30) + "' " + ratio.toFixed(2));
  }
  return low;
}"""


def _slug(path: str) -> str:
    return "page-" + (re.sub(r"[^a-z]+", "-", path.split("?")[0].lower()).strip("-") or "overview")


def test_every_page_opens_clean(page: Any, watch: Watch, site: Site) -> None:
    """One admin login, then every page: a 200, a heading that is not an error's, every text at a
    readable contrast, and nothing outside the appliance or on the console (the guard checks at the
    end)."""
    paths = _page_paths(site)
    log_in(page, watch, site, "admin")
    for route, path in paths.items():
        answer = page.goto(site.url + path)
        assert answer is not None and answer.status == 200, (route, answer and answer.status)
        heading = page.locator("h1").first
        expect(heading).to_be_visible()
        assert not re.match(r"\d{3} ·", heading.inner_text()), (route, heading.inner_text())
        assert page.evaluate(CONTRAST) == [], f"text below the contrast minimum on {route}"
        if route not in PICTURED_BY_FLOWS:
            screenshot(page, _slug(route))
    # The two result pages, reached as a person does: the forms submit jobs that stay queued here.
    page.goto(site.url + "/generate/scenario")
    page.get_by_test_id("plant").select_option("water")
    page.get_by_test_id("duration").fill("1800")
    page.get_by_label("Manipulation of View").fill("1")
    page.get_by_test_id("run-scenario").click()
    expect(page).to_have_url(re.compile(r"/generate/scenario/job_[0-9A-Z]{26}$"))
    expect(page.locator("h1")).to_have_text("Generate")
    page.goto(site.url + paths["/generate/synthesize"])
    page.get_by_label("Rows").fill("100")
    page.get_by_test_id("run-synthesize").click()
    expect(page).to_have_url(re.compile(r"/generate/synthesize/job_[0-9A-Z]{26}$"))
    expect(page.locator("h1")).to_have_text("Generate")
    page.goto(site.url + "/login")  # logged in: the login page still draws (and offers to log in again)
    expect(page.locator("h1")).to_have_text("Log in")
    screenshot(page, "page-login")


def test_pages_the_flows_open(watch: Watch, site: Site) -> None:
    """Every GET route of the UI is opened above, by a flow elsewhere, or is a part of a page."""
    from appliance.api import create_app

    watch.origin = site.url  # no page is opened here

    app = create_app({"server": {"state_dir": str(site.state_dir)}})
    routes = {
        rule.rule for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("ui.") and "GET" in (rule.methods or set()) and "/static/" not in rule.rule
    }
    opened = {
        "/", "/jobs", "/jobs/<string:job_id>", "/evidence", "/plant", "/alarms", "/datasets",
        "/datasets/<string:dataset_id>", "/generate/mock", "/generate/scenario", "/generate/synthesize",
        "/admin/keys", "/admin/users", "/admin/credits", "/admin/audit", "/admin/signing-keys", "/login",
        "/generate/scenario/<string:job_id>", "/generate/synthesize/<string:job_id>",
    }
    assert routes - opened - set(OPENED_BY_FLOWS) - NOT_PAGES == set()
    for test in OPENED_BY_FLOWS.values():
        assert (Path(__file__).parent / test.split("::")[0].split(" ")[0]).exists()
