"""The plant pages end to end in chromium, on one live water run shared by the module (a real API
process and a real `sim` worker serving Modbus): start a run from the form and watch its values
change, write a setpoint and see the plant take it, an out-of-range write refused, an attack
injected and its band on the faceplate trend, an alarm acknowledged with a note, the run paused
(values stop, the overview says so and counts a Modbus client) and resumed (values move again), the
open page following a pause, a resume, a client and a stop made by someone else, values marked
stale when the worker stalls, and a read-only user who sees no write or pause control and whose crafted write
and pause are refused."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from pymodbus.client import ModbusTcpClient

from tests.conftest import forget_worker_log, free_port, spawn_worker, stop_worker
from tests.live_appliance import api_process
from tests.web.browser.conftest import PASSWORD, Site, Watch, log_in, make_site_state, screenshot

RUN = re.compile(r"/plant/(run_[0-9A-Z]+)$")


@pytest.fixture(scope="module")
def shared() -> dict[str, str]:
    """The module's one live run, started by the first test through the form, and the `sim` worker's pid."""
    return {}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, shared: dict[str, str]) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("plant-site")
    state = folder / "var"
    tenant_id, keys, users = make_site_state(state)
    log = folder / "worker-sim.log"
    worker = spawn_worker(state, log, "sim")
    shared["worker_pid"] = str(worker.pid)
    try:
        with api_process(state, folder / "api.log", {"SEALFORGE_RATELIMIT_ENABLED": "false"}) as api:
            yield Site(api.url, state, tenant_id, keys, users, folder)
    finally:
        stop_worker(worker)
        forget_worker_log(log)


def _run_id(site: Site, shared: dict[str, str]) -> str:
    if "run" not in shared:  # the first test did not run (-k): start one as it would
        body = {"plant": "water", "modbus": {"port": free_port()}}
        answer = httpx.post(
            f"{site.url}/v1/scada/runs", json=body, headers={"X-API-Key": site.keys["generate"]}, timeout=60
        )
        shared["run"] = answer.json()["id"]
    return shared["run"]


def _running(site: Site, run_id: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run = httpx.get(
            f"{site.url}/v1/scada/runs/{run_id}", headers={"X-API-Key": site.keys["read"]}, timeout=30
        ).json()
        if run["status"] == "running":
            return
        assert run["status"] == "starting", run
        time.sleep(0.5)
    raise AssertionError("the live run did not start")


def _open_run(page: Any, watch: Watch, site: Site, shared: dict[str, str], scope: str) -> str:
    run_id = _run_id(site, shared)
    _running(site, run_id)
    log_in(page, watch, site, scope, f"/plant/{run_id}")
    expect(page.get_by_test_id("quality")).to_have_text("good", timeout=30_000)
    return run_id


def test_start_a_live_run_and_watch_values_change(page: Any, watch: Watch, site: Site, shared: dict[str, str]) -> None:
    log_in(page, watch, site, "generate", "/plant")
    page.get_by_label("Plant").select_option("water")
    page.get_by_label("Modbus TCP port").fill(str(free_port()))
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(RUN)
    match = RUN.search(page.url)
    assert match
    shared["run"] = match.group(1)
    _running(site, shared["run"])
    page.reload()
    expect(page.get_by_test_id("quality")).to_have_text("good", timeout=30_000)
    scan = page.locator("#scan")
    expect(scan).not_to_have_text("–")
    first = scan.text_content()
    expect(scan).not_to_have_text(first or "", timeout=10_000)  # the plant steps: new samples arrive
    expect(page.locator('td[data-value="LIT101"]')).to_have_text(re.compile(r"^\d+\.\d+$"))
    screenshot(page, "plant")


def test_write_a_setpoint_and_an_out_of_range_write_is_refused(
    page: Any, watch: Watch, site: Site, shared: dict[str, str]
) -> None:
    _open_run(page, watch, site, shared, "generate")
    watch.allow_error("status of 400")  # the refused write's answer, logged by the browser
    page.locator('button[data-pick="LIC101.SP"]').click()
    result = page.get_by_test_id("write-result")
    page.locator("#fp-input").fill("4.2")
    page.get_by_role("button", name="Write…").click()
    expect(page.get_by_test_id("confirm-write")).to_be_visible()
    page.get_by_role("button", name="Confirm write").click()
    expect(result).to_have_attribute("data-state", "applied", timeout=15_000)
    expect(result).to_contain_text("the plant took 4.20")
    expect(page.locator('td[data-value="LIC101.SP"]')).to_have_text("4.20")  # the plant serves it
    page.locator("#fp-input").fill("9.5")
    page.get_by_role("button", name="Write…").click()
    expect(page.locator("#confirm-warn")).to_contain_text("will refuse")
    page.get_by_role("button", name="Confirm write").click()
    expect(result).to_have_attribute("data-state", "refused", timeout=15_000)
    expect(result).to_contain_text("out of range")
    expect(page.locator('td[data-value="LIC101.SP"]')).to_have_text("4.20")  # nothing written


def test_inject_an_attack_and_see_its_band(page: Any, watch: Watch, site: Site, shared: dict[str, str]) -> None:
    _open_run(page, watch, site, shared, "generate")
    page.locator('button[data-pick="LIT101"]').click()
    page.get_by_label("Technique", exact=True).select_option("manipulation_of_view")
    page.get_by_label("Target tag").select_option("LIT101")
    page.get_by_label("Duration (s)").fill("30")
    page.locator("#a-magnitude").fill("1.5")
    page.get_by_role("button", name="Inject").click()
    expect(page.get_by_test_id("attack-result")).to_have_attribute("data-state", "applied", timeout=15_000)
    expect(page.get_by_test_id("attack-now")).to_contain_text("under attack", timeout=10_000)
    expect(page.get_by_test_id("attack-band").first).to_be_visible(timeout=10_000)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "plant-attack")


def test_acknowledge_an_alarm_with_a_note(page: Any, watch: Watch, site: Site, shared: dict[str, str]) -> None:
    run_id = _run_id(site, shared)
    _running(site, run_id)
    # a trip limit below the level trips P101 at the next scan: a real alarm of the plant
    answer = httpx.post(
        f"{site.url}/v1/scada/runs/{run_id}/writes",
        json={"tag": "LIT101.HH", "value": 0.5},
        headers={"X-API-Key": site.keys["generate"]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    log_in(page, watch, site, "generate", "/alarms")
    row = page.locator('tr[data-alarm-row="P101.TRIP"]')
    deadline = time.monotonic() + 20
    while not row.count() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    row.get_by_label("Note").fill("level transmitter checked")
    row.get_by_role("button", name="Ack").click()
    expect(page.get_by_test_id("alarm-history")).to_contain_text("level transmitter checked")
    screenshot(page, "alarms")


def test_a_read_only_user_sees_no_write_controls_and_a_crafted_write_is_refused(
    page: Any, watch: Watch, site: Site, shared: dict[str, str]
) -> None:
    run_id = _open_run(page, watch, site, shared, "read")
    watch.allow_error("status of 403")  # the crafted write's refusal
    expect(page.get_by_test_id("write-form")).to_have_count(0)
    expect(page.get_by_test_id("attack-form")).to_have_count(0)
    expect(page.get_by_test_id("stop-run")).to_have_count(0)
    expect(page.get_by_test_id("pause-run")).to_have_count(0)
    expect(page.get_by_test_id("resume-run")).to_have_count(0)
    crafted = page.evaluate(
        """async ([form, api]) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
            const body = new URLSearchParams({csrf_token: token});
            const viaForm = await fetch(form, {method: 'POST', body: body});
            const viaApi = await fetch(api, {method: 'POST', headers: {'X-CSRF-Token': token}});
            return [viaForm.status, viaApi.status, (await viaApi.json()).error.code];
        }""",
        [f"/plant/{run_id}/pause", f"/v1/scada/runs/{run_id}/pause"],
    )
    assert crafted == [403, 403, "INSUFFICIENT_SCOPE"]
    status = page.evaluate(
        """async (url) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
            const headers = {'Content-Type': 'application/json', 'X-CSRF-Token': token};
            const body = JSON.stringify({tag: 'LIC101.SP', value: 1.0});
            const r = await fetch(url, {method: 'POST', headers: headers, body: body});
            return [r.status, (await r.json()).error.code];
        }""",
        f"/v1/scada/runs/{run_id}/writes",
    )
    assert status == [403, "INSUFFICIENT_SCOPE"]
    page.goto(f"{site.url}/plant/{run_id}/trends?pen=LIT101&pen=LIC101.SP")
    expect(page.get_by_test_id("trend-info")).to_contain_text("samples", timeout=15_000)
    screenshot(page, "trends")
    visible = page.get_by_test_id("trend-csv").get_attribute("href")
    assert visible and "&start=" in visible and "&end=" in visible
    exported = page.request.get(site.url + visible)
    assert exported.ok and exported.text().startswith("timestamp,LIT101,LIC101.SP,attacks\n")
    box = page.locator("#t-chart .u-over").bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(page.get_by_test_id("trend-csv")).not_to_have_attribute("href", visible)  # zoomed: a narrower range
    page.goto(f"{site.url}/plant/{run_id}/points")
    expect(page.get_by_test_id("blocks")).to_contain_text("mbpoll -m tcp")
    expect(page.locator('[data-testid="modbus-points"] td[data-value="LIT101"]').first).not_to_have_text("–")
    screenshot(page, "points")


def _tab_to(page: Any, selector: str, limit: int = 150) -> None:
    """Tab (only the key) until ``selector`` has the focus, checking each stop shows a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            ring = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return document.activeElement.matches(':focus-visible') && s.outlineStyle !== 'none'"
                " && parseFloat(s.outlineWidth) >= 2; }"
            )
            assert ring, f"{selector} has the focus but no visible focus ring"
            return
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def test_log_in_and_write_a_setpoint_by_keyboard_only(
    page: Any, watch: Watch, site: Site, shared: dict[str, str]
) -> None:
    """Accessibility basics of issue #17: the login form and a setpoint write, with the keys alone.
    The focus ring shows at each control; Escape closes the confirm dialog without writing; Enter
    submits the login and confirms the write."""
    run_id = _run_id(site, shared)
    _running(site, run_id)
    watch.origin = site.url
    page.goto(f"{site.url}/plant/{run_id}")  # sent to log in first
    assert page.evaluate("document.activeElement.id") == "email"  # autofocus: the first field is ready
    page.keyboard.type(site.users["generate"])
    _tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/plant/{run_id}")
    expect(page.get_by_test_id("quality")).to_have_text("good", timeout=30_000)
    _tab_to(page, 'button[data-pick="LIC101.SP"]')
    page.keyboard.press("Enter")
    _tab_to(page, "#fp-input")
    page.keyboard.press("Control+A")
    page.keyboard.type("4.6")
    page.keyboard.press("Enter")  # submits the write form, which asks first
    dialog = page.get_by_test_id("confirm-write")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.getElementById('confirm-write').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    result = page.get_by_test_id("write-result")
    expect(result).not_to_have_attribute("data-state", "applied")  # closed: nothing written
    _tab_to(page, "#fp-write button[type=submit]")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    _tab_to(page, "#confirm-ok", limit=5)
    page.keyboard.press("Enter")
    expect(result).to_have_attribute("data-state", "applied", timeout=15_000)
    expect(result).to_contain_text("the plant took 4.60")


def test_pause_a_live_run_and_resume_it(page: Any, watch: Watch, site: Site, shared: dict[str, str]) -> None:
    """Paused, the plant's values stop (scan and values stay), the page and the overview say so, and
    the overview counts a Modbus client that connects and leaves; resumed, the values move again."""
    run_id = _open_run(page, watch, site, shared, "generate")
    scan = page.locator("#scan")
    expect(scan).not_to_have_text("–")
    page.get_by_test_id("pause-run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("paused", timeout=15_000)
    expect(page.get_by_test_id("quality")).to_have_text("paused", timeout=15_000)
    expect(page.get_by_test_id("paused-note")).to_be_visible()
    expect(page.get_by_test_id("write-form")).to_be_hidden()
    expect(scan).not_to_have_text("–")
    frozen = scan.text_content() or ""
    time.sleep(3)  # three scan periods at 1x: a stepping plant would have moved on
    assert scan.text_content() == frozen
    served = httpx.get(
        f"{site.url}/v1/scada/runs/{run_id}", headers={"X-API-Key": site.keys["read"]}, timeout=30
    ).json()
    assert served["status"] == "paused" and str(served["values"]["scan"]) == frozen
    screenshot(page, "plant-paused")

    page.goto(f"{site.url}/")
    row = page.locator(f'tr[data-run-id="{run_id}"]')
    expect(row.locator(".state")).to_have_text("paused")
    clients = row.locator('[data-clients="modbus"]')
    expect(clients).to_have_text("0", timeout=15_000)
    modbus = ModbusTcpClient("127.0.0.1", port=served["modbus"]["port"], timeout=3, retries=0)
    assert modbus.connect()
    try:
        expect(clients).to_have_text("1", timeout=15_000)  # the overview's event stream says so
    finally:
        modbus.close()
    expect(clients).to_have_text("0", timeout=15_000)

    page.goto(f"{site.url}/plant/{run_id}")
    page.get_by_test_id("resume-run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("running", timeout=15_000)
    expect(page.get_by_test_id("quality")).to_have_text("good", timeout=30_000)
    expect(scan).not_to_have_text(frozen, timeout=15_000)  # the plant steps again


def test_the_overview_shows_a_live_run_whole(page: Any, watch: Watch, site: Site, shared: dict[str, str]) -> None:
    """At the reference size the live runs table fits its card: the endpoints, their clients and the
    alarms link are on screen, not cut off behind a horizontal scroll (it was, beside Health)."""
    run_id = _run_id(site, shared)
    _running(site, run_id)
    log_in(page, watch, site, "read", "/")
    row = page.locator(f'tr[data-run-id="{run_id}"]')
    expect(row.locator('[data-clients="modbus"]')).to_be_visible()
    card = page.get_by_test_id("live-runs-card")
    assert card.evaluate("e => e.scrollWidth <= e.clientWidth"), card.evaluate("e => [e.scrollWidth, e.clientWidth]")
    right = card.bounding_box()
    alarms = row.get_by_test_id("run-alarms").bounding_box()
    assert right and alarms and alarms["x"] + alarms["width"] <= right["x"] + right["width"]
    screenshot(page, "overview-live")


def _api(site: Site, run_id: str, verb: str) -> None:
    """Pause or resume the run as a script would, with an API key: not through the open page."""
    answer = httpx.post(
        f"{site.url}/v1/scada/runs/{run_id}/{verb}", headers={"X-API-Key": site.keys["generate"]}, timeout=30
    )
    assert answer.status_code == 200, answer.text


def test_the_open_page_follows_a_pause_a_resume_and_a_client_made_elsewhere(
    page: Any, watch: Watch, site: Site, shared: dict[str, str]
) -> None:
    """A script pauses the run while the page is open: without a reload the page says paused (not
    stale, however long), hides the write and attack forms and offers Resume; a Modbus client's
    coming and going moves the clients count; resumed by the script, the forms come back and the
    values are good again. All from the values stream the page already has open."""
    run_id = _open_run(page, watch, site, shared, "generate")
    page.locator('button[data-pick="LIC101.SP"]').click()
    write, attack = page.get_by_test_id("write-form"), page.get_by_test_id("attack-form")
    quality, clients = page.get_by_test_id("quality"), page.get_by_test_id("clients-modbus")
    expect(write).to_be_visible()
    expect(attack).to_be_visible()
    page.evaluate("window.sealforgeNotReloaded = true")  # a reload would drop it
    _api(site, run_id, "pause")
    expect(page.get_by_test_id("run-status")).to_have_text("paused", timeout=10_000)
    expect(page.get_by_test_id("paused-note")).to_be_visible()
    expect(write).to_be_hidden()
    expect(attack).to_be_hidden()
    expect(page.get_by_test_id("pause-run")).to_be_hidden()
    expect(page.get_by_test_id("resume-run")).to_be_visible()
    expect(quality).to_have_text("paused")
    expect(clients).to_have_text("0", timeout=15_000)
    port = httpx.get(
        f"{site.url}/v1/scada/runs/{run_id}", headers={"X-API-Key": site.keys["read"]}, timeout=30
    ).json()["modbus"]["port"]
    modbus = ModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
    assert modbus.connect()
    try:
        expect(clients).to_have_text("1", timeout=15_000)
        expect(page.locator('[data-endpoint="modbus"] [data-clients-word]')).to_have_text("client")
    finally:
        modbus.close()
    expect(clients).to_have_text("0", timeout=15_000)
    page.wait_for_timeout(4000)  # longer than the 3 s after which a running plant's values are stale
    expect(quality).to_have_text("paused")

    _api(site, run_id, "resume")
    expect(page.get_by_test_id("run-status")).to_have_text("running", timeout=10_000)
    expect(page.get_by_test_id("paused-note")).to_be_hidden()
    expect(write).to_be_visible()
    expect(attack).to_be_visible()
    expect(page.get_by_test_id("pause-run")).to_be_visible()
    expect(page.get_by_test_id("resume-run")).to_be_hidden()
    expect(quality).to_have_text("good", timeout=10_000)
    assert page.evaluate("window.sealforgeNotReloaded") is True


def test_a_stalled_worker_marks_the_values_stale(page: Any, watch: Watch, site: Site, shared: dict[str, str]) -> None:
    """The run stays `running` but its worker stops publishing (stopped here with SIGSTOP, well
    within its job lease): the page marks the values stale, and good again once samples come."""
    _open_run(page, watch, site, shared, "generate")
    quality = page.get_by_test_id("quality")
    worker = int(shared["worker_pid"])
    os.killpg(worker, signal.SIGSTOP)  # the worker and anything it started: its own session
    try:
        expect(quality).to_have_text("stale", timeout=10_000)
        expect(page.get_by_test_id("run-status")).to_have_text("running")
    finally:
        os.killpg(worker, signal.SIGCONT)
    expect(quality).to_have_text("good", timeout=15_000)


def test_a_stop_made_elsewhere_shows_the_run_ended(page: Any, watch: Watch, site: Site, shared: dict[str, str]) -> None:
    """Last, as it ends the module's run: a script stops it while the page is open; the page says the
    run has ended and offers no control, without a reload."""
    run_id = _open_run(page, watch, site, shared, "generate")
    page.locator('button[data-pick="LIC101.SP"]').click()
    expect(page.get_by_test_id("write-form")).to_be_visible()
    page.evaluate("window.sealforgeNotReloaded = true")
    answer = httpx.post(
        f"{site.url}/v1/scada/runs/{run_id}/stop", headers={"X-API-Key": site.keys["generate"]}, timeout=30
    )
    assert answer.status_code == 202, answer.text
    del shared["run"]  # a test after this one starts its own
    expect(page.get_by_test_id("ended-note")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("run-status")).to_have_text("stopped")
    expect(page.get_by_test_id("quality")).to_have_text("ended")
    expect(page.get_by_test_id("clients-modbus")).to_have_text("0")
    for control in ("write-form", "attack-form", "pause-run", "resume-run", "stop-run", "paused-note"):
        expect(page.get_by_test_id(control)).to_be_hidden()
    assert page.evaluate("window.sealforgeNotReloaded") is True
