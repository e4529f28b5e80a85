"""The datasets, generate and admin pages end to end in chromium, against a real API process and
real workers (`default` for analyze, mock and scenarios; `gpu` for synthesis): upload a CSV and
see its profile, mock from a sentence, run a scenario and see its attack bands, train and
synthesize and read the report, and check the audit chain. Every job is small, so the module runs
in seconds of CPU."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import forget_worker_log, mock_schema, spawn_worker, stop_worker
from tests.live_appliance import api_process
from tests.web.browser.conftest import Site, Watch, log_in, make_site_state, screenshot

CSV = "id,flow,site\n" + "".join(f"{i},{10 + (i % 9) * 0.75},{'abc'[i % 3]}\n" for i in range(120))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One API process and a worker for each queue these flows use, for the whole module."""
    folder = tmp_path_factory.mktemp("ui-data-site")
    state = folder / "var"
    tenant_id, keys, users = make_site_state(state)
    logs = [folder / "worker-default.log", folder / "worker-gpu.log"]
    with api_process(state, folder / "api.log", {"SEALFORGE_RATELIMIT_ENABLED": "false"}) as api:
        workers = [spawn_worker(state, logs[0], "default"), spawn_worker(state, logs[1], "gpu")]
        try:
            yield Site(api.url, state, tenant_id, keys, users, folder)
        finally:
            for proc in workers:
                stop_worker(proc)
            for log in logs:
                forget_worker_log(log)


def _drop(page: Any, name: str, text: str) -> None:
    """A file dragged in from the desktop and dropped on the upload box."""
    dropped = page.evaluate_handle(
        """([name, text]) => { const data = new DataTransfer();
                               data.items.add(new File([text], name, {type: "text/csv"})); return data; }""",
        [name, text],
    )
    page.get_by_test_id("dropzone").dispatch_event("drop", {"dataTransfer": dropped})


def test_upload_a_csv_and_see_its_profile(page: Any, watch: Watch, site: Site) -> None:
    log_in(page, watch, site, "generate", "/datasets")
    _drop(page, "broken.csv", "id,flow\n1,2,3\n")  # refused by the API: the box says why, in place
    watch.allow_error("status of 400")
    expect(page.get_by_test_id("upload-error")).to_contain_text("DATASET_INVALID: not a valid CSV file")
    expect(page).to_have_url(f"{site.url}/datasets")
    _drop(page, "flows.csv", CSV)
    expect(page).to_have_url(re.compile(r"/datasets/ds_[0-9A-Z]{26}$"), timeout=30_000)
    expect(page.get_by_test_id("preview").locator("tbody tr")).to_have_count(20)
    profile = page.get_by_test_id("profile")
    expect(profile.get_by_test_id("profile-column")).to_have_count(3, timeout=60_000)  # swapped in when analyze ends
    expect(profile.locator('[data-column="flow"] svg rect')).to_have_count(20)  # a 20-bin histogram
    expect(profile.locator('[data-column="site"] svg')).to_have_attribute("aria-label", "Most frequent values of site")
    profile.scroll_into_view_if_needed()
    screenshot(page, "dataset")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("delete-dataset").click()
    expect(page).to_have_url(f"{site.url}/datasets")
    expect(page.get_by_test_id("no-datasets")).to_be_visible()
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


def test_mock_from_a_sentence(page: Any, watch: Watch, site: Site) -> None:
    log_in(page, watch, site, "generate", "/generate/mock")
    page.get_by_label("Describe the data").fill("300 sensor readings with temperature, pressure and site")
    page.get_by_test_id("plan").click()
    expect(page.get_by_test_id("plan-warnings")).to_contain_text("unknown attribute 'site'", timeout=30_000)
    schema = page.get_by_test_id("schema")
    expect(schema).to_have_value(re.compile(r'"temperature"'))
    schema.fill(schema.input_value().replace('"rows": 300', '"rows": 40'))  # the plan, edited before it runs
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("mock-sample").locator("tbody tr")).to_have_count(10)
    screenshot(page, "mock-plan")
    page.get_by_test_id("run-mock").click()
    expect(page).to_have_url(re.compile(r"/jobs/job_[0-9A-Z]{26}$"))
    expect(page.get_by_test_id("job-status")).to_have_text("succeeded", timeout=60_000)
    expect(page.get_by_test_id("contract")).to_contain_text('"rows": 40')


def test_run_a_scenario_and_see_its_attack_bands(page: Any, watch: Watch, site: Site) -> None:
    log_in(page, watch, site, "generate", "/generate/scenario")
    page.get_by_test_id("plant").select_option("water")
    page.get_by_test_id("duration").fill("1800")
    page.get_by_label("Manipulation of View").fill("2")
    page.get_by_test_id("run-scenario").click()
    expect(page).to_have_url(re.compile(r"/generate/scenario/job_[0-9A-Z]{26}$"))
    trend = page.get_by_test_id("trend")  # the page reloads itself when the job's stream ends
    expect(trend).to_have_attribute("data-bands", "2", timeout=60_000)
    expect(trend.locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("attacks").locator("tr[data-attack]")).to_have_count(2)
    expect(page.get_by_test_id("attacks")).to_contain_text("Manipulation of View")
    screenshot(page, "scenario")


def test_train_synthesize_and_read_the_report(page: Any, watch: Watch, site: Site) -> None:
    answer = httpx.post(
        f"{site.url}/v1/datasets?name=readings.csv", content=CSV.encode(),
        headers={"X-API-Key": site.keys["generate"], "Content-Type": "text/csv"}, timeout=30,
    )
    assert answer.status_code == 201, answer.text
    log_in(page, watch, site, "generate", f"/generate/synthesize?dataset={answer.json()['id']}")
    page.get_by_label("Synthesizer").select_option("gaussian_copula")  # the fastest: seconds on a CPU
    page.get_by_label("Rows").fill("100")
    page.get_by_test_id("run-synthesize").click()
    expect(page).to_have_url(re.compile(r"/generate/synthesize/job_[0-9A-Z]{26}$"))
    expect(page.get_by_test_id("quality-score")).to_have_text(re.compile(r"^0\.\d{3}$|^1\.000$"), timeout=120_000)
    expect(page.get_by_test_id("privacy-risk")).to_have_text(re.compile(r"low|elevated|unknown"))
    for chart in ("properties-chart", "columns-chart", "dcr-chart"):
        expect(page.get_by_test_id(chart).locator("rect").first).to_be_visible()
    screenshot(page, "synthesize-report")


def _sealed_mock(site: Site) -> None:
    """A small job run to its end, so the appliance has sealed something (and made its key)."""
    body = {"kind": "mock", "params": {"schema": mock_schema(10)}}
    job = httpx.post(f"{site.url}/v1/jobs", json=body, headers={"X-API-Key": site.keys["generate"]}, timeout=30)
    with httpx.stream(
        "GET", f"{site.url}/v1/jobs/{job.json()['id']}/events", headers={"X-API-Key": site.keys["read"]}, timeout=60
    ) as stream:
        for _ in stream.iter_lines():
            pass  # the stream ends when the job does


def test_an_admin_checks_the_audit_chain_and_the_signing_keys(page: Any, watch: Watch, site: Site) -> None:
    _sealed_mock(site)
    log_in(page, watch, site, "admin")
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Audit log").click()
    page.get_by_test_id("audit-search").fill("/login")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=%2Flogin"))
    expect(page.get_by_test_id("audit").locator("tr[data-seq]").first).to_contain_text("POST /login")
    page.get_by_test_id("verify-chain").click()
    expect(page.get_by_test_id("chain-result")).to_contain_text("The chain holds")
    screenshot(page, "audit")
    page.get_by_role("link", name="Signing keys").click()
    expect(page.get_by_test_id("fingerprint").first).to_have_text(re.compile(r"^([0-9a-f]{4} ){15}[0-9a-f]{4}$"))
