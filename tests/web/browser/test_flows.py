"""The web UI end to end in chromium, against a real API process and real workers: log in, the
overview, a job watched to its end live, cancel, evidence downloaded and verified offline and on
the appliance, a read-only user, API keys, logout."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import forget_worker_log, mock_schema, spawn_worker, stop_worker
from tests.live_appliance import api_process
from tests.web.browser.conftest import Site, Watch, log_in, make_site_state, open_ui, screenshot

TABLET = {"width": 820, "height": 1180}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One API process for the module; jobs meant to finish go to the `default` queue, whose worker
    a test starts when it wants the job to run, and jobs meant to wait go to `gpu`, which has none."""
    folder = tmp_path_factory.mktemp("ui-site")
    state = folder / "var"
    tenant_id, keys, users = make_site_state(state)
    with api_process(state, folder / "api.log", {"SEALFORGE_RATELIMIT_ENABLED": "false"}) as api:
        yield Site(api.url, state, tenant_id, keys, users, folder)


def submit(site: Site, queue: str, rows: int = 5000) -> str:
    body = {"kind": "mock", "queue": queue, "params": {"schema": mock_schema(rows), "format": "csv"}}
    answer = httpx.post(f"{site.url}/v1/jobs", json=body, headers={"X-API-Key": site.keys["generate"]}, timeout=30)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def job_status(site: Site, job_id: str) -> str:
    answer = httpx.get(f"{site.url}/v1/jobs/{job_id}", headers={"X-API-Key": site.keys["read"]}, timeout=30)
    return str(answer.json()["status"])


@pytest.fixture(scope="module")
def worker(site: Site) -> Iterator[Any]:
    """Starts the `default` queue's worker on first call; stopped with the module."""
    procs: list[Any] = []
    log = site.logs / "worker-default.log"

    def start() -> None:
        if not procs:
            procs.append(spawn_worker(site.state_dir, log, "default"))

    yield start
    for proc in procs:
        stop_worker(proc)
    forget_worker_log(log)


@pytest.fixture(scope="module")
def sealed_job(site: Site, worker: Any) -> str:
    """A job that has succeeded and been sealed."""
    job_id = submit(site, "default", rows=300)
    worker()
    with httpx.stream(
        "GET", f"{site.url}/v1/jobs/{job_id}/events", headers={"X-API-Key": site.keys["read"]}, timeout=60
    ) as stream:
        for _ in stream.iter_lines():
            pass  # the stream ends when the job does
    assert job_status(site, job_id) == "succeeded"
    return job_id


def test_log_in_and_see_the_overview(page: Any, watch: Watch, site: Site, sealed_job: str) -> None:
    open_ui(page, watch, site, "/jobs")
    expect(page).to_have_url(re.compile(r"/login\?next=/jobs$"))  # sent to log in, then back
    page.get_by_label("Email").fill(site.users["generate"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("login-error")).to_have_text("The email or password is wrong.")
    watch.allow_error("status of 401")  # the refused login answers 401, which chromium reports
    log_in(page, watch, site, "generate")
    expect(page.get_by_test_id("user")).to_have_text(site.users["generate"])
    expect(page.get_by_test_id("credits")).not_to_be_empty()
    expect(page.get_by_test_id("health")).to_contain_text("GB free")
    expect(page.get_by_test_id("recent-jobs").locator(f'tr[data-job-id="{sealed_job}"]')).to_contain_text("succeeded")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)  # generate is not admin
    screenshot(page, "overview")
    page.set_viewport_size(TABLET)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the overview scrolls sideways at tablet width"
    page.keyboard.press("Tab")  # the skip link comes first and shows where focus is
    assert page.evaluate("document.activeElement.className") == "skip"


def test_the_overview_follows_a_new_job_from_the_tenant_stream(
    page: Any, watch: Watch, site: Site, worker: Any
) -> None:
    """No polling: while nothing happens the overview fetches nothing; a job submitted elsewhere
    appears and runs to 100% on the open page, driven by GET /v1/events, without a reload."""
    log_in(page, watch, site, "read")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url) if "/overview/live" in request.url else None)
    page.evaluate("window.sameDocument = true")
    page.wait_for_timeout(1500)
    assert fetched == [], "the overview fetched its live part with nothing changed"
    job_id = submit(site, "default", rows=20_000)
    worker()
    row = page.get_by_test_id("recent-jobs").locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text("succeeded", timeout=60_000)
    expect(row.locator(".progress-cell .num")).to_have_text("100%")
    assert page.evaluate("window.sameDocument === true"), "the page was reloaded"
    assert fetched, "the overview did not re-read its live part"


def test_jobs_list_filters(page: Any, watch: Watch, site: Site, sealed_job: str) -> None:
    waiting = submit(site, "gpu")
    log_in(page, watch, site, "read", "/jobs")
    table = page.get_by_test_id("jobs")
    expect(table.locator(f'tr[data-job-id="{waiting}"]')).to_be_visible()
    page.get_by_label("State").select_option("succeeded")
    expect(page).to_have_url(re.compile(r"status=succeeded"))
    expect(table.locator(f'tr[data-job-id="{sealed_job}"]')).to_be_visible()
    expect(table.locator(f'tr[data-job-id="{waiting}"]')).to_have_count(0)


def test_watch_a_job_finish_live(page: Any, watch: Watch, site: Site, worker: Any) -> None:
    job_id = submit(site, "default", rows=20_000)
    log_in(page, watch, site, "generate", f"/jobs/{job_id}")
    expect(page.get_by_test_id("contract-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.get_by_test_id("contract")).to_contain_text('"kind": "mock"')
    worker()  # the job runs now, with the page open: nothing below reloads it
    expect(page.get_by_test_id("job-status")).to_have_text("succeeded", timeout=60_000)
    log = page.get_by_test_id("job-log")
    expect(log).to_contain_text("queued → running")
    expect(log).to_contain_text("running → succeeded")
    expect(page.get_by_test_id("job-progress")).to_have_text("100%")
    expect(page.get_by_test_id("cancel")).to_have_count(0)
    row = page.get_by_test_id("artifacts").locator("tr", has_text="readings")
    screenshot(page, "job")
    with page.expect_download() as info:
        row.get_by_role("link", name="Download").click()
    data = Path(info.value.path()).read_bytes()
    assert blake3.blake3(data).hexdigest() == row.locator("code.hash").inner_text()
    assert data.startswith(b'"id","flow","site"\n')


def test_cancel_a_queued_job(page: Any, watch: Watch, site: Site) -> None:
    job_id = submit(site, "gpu")
    log_in(page, watch, site, "generate", f"/jobs/{job_id}")
    expect(page.get_by_test_id("job-status")).to_have_text("queued")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("cancel").click()
    expect(page.get_by_test_id("job-status")).to_have_text("canceled")
    expect(page.get_by_test_id("cancel")).to_have_count(0)
    assert job_status(site, job_id) == "canceled"


def test_download_and_verify_evidence(page: Any, watch: Watch, site: Site, sealed_job: str, tmp_path: Path) -> None:
    log_in(page, watch, site, "generate", "/evidence")
    page.get_by_test_id("seals").locator("tr", has_text=sealed_job).get_by_role("link").first.click()
    job = httpx.get(f"{site.url}/v1/jobs/{sealed_job}", headers={"X-API-Key": site.keys["read"]}, timeout=30).json()
    expect(page.get_by_test_id("seal-contract-hash")).to_have_text(job["contract_hash"])
    expect(page.get_by_test_id("inclusion")).to_contain_text("Tree size")
    expect(page.get_by_test_id("checkpoint")).to_contain_text("—")  # a signed note's signature line
    command = page.get_by_test_id("verify-command").inner_text()
    screenshot(page, "seal")
    with page.expect_download() as bundle_info:
        page.get_by_test_id("bundle").click()
    with page.expect_download() as trust_info:
        page.get_by_role("link", name="Trust file").click()
    bundle_info.value.save_as(tmp_path / f"{sealed_job}.tar")
    trust_info.value.save_as(tmp_path / trust_info.value.suggested_filename)
    with tarfile.open(tmp_path / f"{sealed_job}.tar") as tar:
        assert tar.getnames()
    argv = command.split()
    assert argv[0] == "sealforge-verify"
    verify = Path(sys.executable).parent / "sealforge-verify"
    done = subprocess.run([str(verify), *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr  # the command shown works as written
    page.get_by_test_id("verify").click()  # the same checks, run by the appliance as a `verify` job
    expect(page).to_have_url(re.compile(r"/jobs/job_[0-9A-Z]{26}$"))
    expect(page.get_by_test_id("job-status")).to_have_text("succeeded", timeout=60_000)
    expect(page.get_by_test_id("job-result")).to_contain_text("pass")
    expect(page.get_by_test_id("job-result").locator(".state-failed")).to_have_count(0)


def test_a_read_only_user_has_no_write_controls_and_cannot_force_one(page: Any, watch: Watch, site: Site) -> None:
    job_id = submit(site, "gpu")
    log_in(page, watch, site, "read", f"/jobs/{job_id}")
    expect(page.get_by_test_id("job-status")).to_have_text("queued")
    expect(page.get_by_test_id("scopes")).to_have_text("read")
    expect(page.get_by_test_id("cancel")).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    # the browser's own cookie jar, with the page's valid CSRF token: only the scope is missing
    forced = page.context.request.post(f"{site.url}/jobs/{job_id}/cancel", form={"csrf_token": token})
    assert forced.status == 403 and "INSUFFICIENT_SCOPE" in forced.text()
    api = page.context.request.post(f"{site.url}/v1/jobs/{job_id}/cancel", headers={"X-CSRF-Token": token})
    assert api.status == 403 and api.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    keys = page.context.request.post(f"{site.url}/admin/keys", form={"csrf_token": token, "scopes": "admin"})
    assert keys.status == 403
    assert job_status(site, job_id) == "queued"


def test_an_admin_makes_and_revokes_a_key(page: Any, watch: Watch, site: Site) -> None:
    log_in(page, watch, site, "admin")
    page.get_by_role("link", name="Admin").click()  # opens on the API keys tab
    page.get_by_label("Name").fill("test rig 3")
    page.get_by_label("generate").check()
    page.get_by_test_id("create-key").click()
    secret = page.get_by_test_id("created-secret").inner_text().strip()
    whoami = httpx.get(f"{site.url}/v1/auth/whoami", headers={"X-API-Key": secret}, timeout=30)
    assert whoami.json()["scopes"] == ["read", "generate"]
    row = page.get_by_test_id("keys").locator("tr", has_text="test rig 3")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("keys").locator("tr", has_text="test rig 3")).to_contain_text("revoked")
    assert httpx.get(f"{site.url}/v1/auth/whoami", headers={"X-API-Key": secret}, timeout=30).status_code == 401


def test_logout(page: Any, watch: Watch, site: Site) -> None:
    log_in(page, watch, site, "read")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{site.url}/login")
    page.goto(site.url + "/evidence")
    expect(page).to_have_url(re.compile(r"/login\?next=/evidence$"))
    assert not [c for c in page.context.cookies() if c["name"] == "sealforge_session"]
