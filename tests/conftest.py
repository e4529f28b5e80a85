"""Shared fixtures: a fresh state dir per test, the app on it, and credentials of each scope."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

# The connector suites' session servers (tests/services/connectors, tests/api/connectors), defined
# here, at the suites' common parent, so that each starts once per test process, not once per suite.
from tests.connector_servers import broker, pg_server, s3  # noqa: F401
from tests.remote_servers import ftpd, influx, maria, smbd, sshd  # noqa: F401

os.environ.setdefault("SEALFORGE_STATE_DIR", "/nonexistent-use-tmp-path")
# Most tests start one `default` worker for their small mock jobs; small mocks would otherwise go to
# `interactive` (issue #15 queue routing). Tests about routing set [jobs] interactive_max_rows themselves.
os.environ.setdefault("SEALFORGE_JOBS_INTERACTIVE_MAX_ROWS", "0")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "heavy: one test that runs for tens of seconds (real processes, a whole tour); a parallel run "
        "starts it first, so that no CPU sits idle while it finishes at the end",
    )


def _shared_fixture_module(item: pytest.Item) -> str | None:
    """The test's module when the test uses a module-, class- or package-scoped fixture, else None."""
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info is not None else ():
        if defs and defs[-1].scope in ("module", "class", "package"):
            return item.nodeid.split("::", 1)[0]
    return None


def _schedule_for_xdist(items: list[pytest.Item]) -> None:
    """`make test` runs `-n auto --dist loadgroup`. The tests of a module that share an expensive
    module-scoped fixture (a live appliance, a running plant) become one unit that goes to one
    worker, so the fixture is built once, not once per worker that picks up one of them; xdist
    hands out the largest units first. Every other test is a unit of its own, as with `--dist
    load`, and those marked `heavy` are put first among them, so that a long test does not start
    last and leave the other CPU idle while it finishes.

    pytest-xdist 3.8 passes the group to the scheduler by rewriting `item._nodeid`, which pytest
    9.2's structured node ids no longer read (pytest-xdist#1386, fix in #1388): the groups would be
    ignored there, so pyproject.toml keeps pytest below 9.2 until an xdist release has the fix."""
    shared = {id(item): _shared_fixture_module(item) for item in items}
    for item in items:
        module = shared[id(item)]
        if module is not None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(module))
    # stable: a heavy test moves only when no module fixture ties it to its neighbours
    items.sort(key=lambda item: shared[id(item)] is not None or item.get_closest_marker("heavy") is None)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        _schedule_for_xdist(items)
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    has_cuda = _cuda_available() if any("gpu" in item.keywords for item in items) else False
    for item in items:
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


def _cuda_available() -> bool:
    """Whether torch sees a CUDA GPU. torch is imported only where a GPU driver's device exists
    (NVIDIA's /dev/nvidia*, WSL's /dev/dxg): the import costs every collecting process about 2.5 s
    of CPU, and without such a device CUDA cannot be available."""
    import glob

    if not glob.glob("/dev/nvidia*") and not os.path.exists("/dev/dxg"):
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def state_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state dir as the appliance leaves it after its first start on an empty one (private
    modes, the schema migrated to the latest version, nothing in it yet), prepared once per test
    process by the product's own start-up step (`prepare_state_dir`)."""
    from appliance.store.open import prepare_state_dir

    path = tmp_path_factory.mktemp("state-template") / "var"
    prepare_state_dir(path)  # closes its connection: SQLite folds the WAL back into the database file
    return path


@pytest.fixture
def state_dir(tmp_path: Path, state_template: Path) -> Iterator[Path]:
    """A fresh state dir for this test: a file copy of `state_template`, so the app, the CLI and
    the workers open it the way they open any state dir (`prepare_state_dir` finds the schema at
    the latest version: one `PRAGMA user_version` read) instead of each test running every
    migration again. Tests about first starts, empty state dirs and migrations use `tmp_path`."""
    from appliance.cli.release import release

    path = tmp_path / "var"
    shutil.copytree(state_template, path)
    yield path
    release(path)


@pytest.fixture
def app_config(state_dir: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Overrides for create_app; tests may edit this before asking for `app`, or add whole sections
    by parametrizing it indirectly (`@pytest.mark.parametrize("app_config", [{...}], indirect=True)`)."""
    extra = getattr(request, "param", {})
    return {"server": {"state_dir": str(state_dir)}, "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0}, **extra}


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    from appliance.api import create_app

    yield create_app(app_config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask, state_dir: Path) -> Any:
    from appliance.store.open import open_db

    return open_db(state_dir)


@pytest.fixture
def tenant(db: Any) -> dict[str, Any]:
    from appliance.services import identity

    return identity.create_tenant(db, "acme", credits=1000)


@pytest.fixture
def keys(db: Any, tenant: dict[str, Any]) -> dict[str, str]:
    """Plaintext API keys of the `acme` tenant, one per scope."""
    from appliance.services import identity

    return {scope: identity.create_key(db, tenant["id"], [scope])["api_key"] for scope in ("read", "generate", "admin")}


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


LEASE_S = 2.0

# Logs of the worker subprocesses alive now (a test's own, and those of module-scoped fixtures). A failed
# test report carries each of them as a section, so a worker's traceback is shown beside the failure.
_WORKER_LOGS: list[Path] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed:
        for log in _WORKER_LOGS:
            text = log.read_text(errors="replace") if log.exists() else "(no log written)"
            report.sections.append((f"worker log {log.name}", text[-20_000:] or "(empty)"))


def spawn_worker(
    state_dir: Path, log: Path, queue: str = "default", env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real `sealforge worker` whose stdout and stderr go to ``log``, shown if the test fails.

    Call `forget_worker_log(log)` once the worker is stopped."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance.cli.main", "worker", "--queue", queue, "--state-dir", str(state_dir)],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _WORKER_LOGS.append(log)
    return proc


def forget_worker_log(log: Path) -> None:
    if log in _WORKER_LOGS:
        _WORKER_LOGS.remove(log)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def start_worker(state_dir: Path, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []

    def start(queue: str = "default", max_attempts: int = 2) -> subprocess.Popen[bytes]:
        env = {"SEALFORGE_JOBS_LEASE_S": str(LEASE_S), "SEALFORGE_JOBS_MAX_ATTEMPTS": str(max_attempts)}
        log = tmp_path / f"worker-{len(procs) + 1}-{queue}.log"
        logs.append(log)
        procs.append(spawn_worker(state_dir, log, queue, env))
        return procs[-1]

    try:
        yield start
    finally:
        for proc in procs:
            stop_worker(proc)
        for log in logs:
            forget_worker_log(log)


class InlineJobs:
    """Runs queued jobs in the test's own process, through the path a `sealforge worker` takes.

    Huey's immediate mode runs a task inside `enqueue`, before the API has committed the job as
    `queued`, so the runner would find nothing to claim; this waits until the API has answered, then
    takes each task off its SqliteHuey queue and hands it to `huey.execute`, which calls
    `appliance.jobs.runner.execute` exactly as a consumer thread does. For tests about a kind. Tests
    about leases, cancelling, crashes and queues use real workers (`start_worker`)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def drain(self) -> int:
        """Run every task now waiting, on every queue, to its end; the number run."""
        from appliance.jobs.queues import QUEUES
        from appliance.jobs.tasks import runtime

        ran, before = 0, -1
        while ran != before:  # a job may queue another: go round until a pass runs nothing
            before = ran
            for queue in QUEUES:
                huey = runtime(self.state_dir, queue).huey
                while (task := huey.dequeue()) is not None:
                    huey.execute(task)
                    ran += 1
        return ran

    def finish(
        self, client: FlaskClient, headers: dict[str, str], job_id: str, expect: str | None = "succeeded"
    ) -> Any:
        """Run what is queued, then the job's view: in an end state, and in ``expect`` unless that is None."""
        self.drain()
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).get_json()
        assert job["status"] in ("succeeded", "failed", "canceled"), job
        assert expect is None or job["status"] == expect, job
        return job


@pytest.fixture
def inline_jobs(state_dir: Path) -> InlineJobs:
    return InlineJobs(state_dir)


def mock_schema(rows: int = 1000) -> dict[str, Any]:
    return {
        "tables": [
            {
                "name": "readings",
                "rows": rows,
                "columns": [
                    {"name": "id", "type": "int", "generator": "sequence"},
                    {"name": "flow", "type": "float", "generator": "normal", "mean": 10, "std": 2},
                    {"name": "site", "type": "string", "generator": "category", "categories": ["a", "b", "c"]},
                ],
            }
        ]
    }


def wait_for(client: FlaskClient, headers: dict[str, str], job_id: str, states: set[str], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).get_json()
        if job["status"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"{job_id} stayed {job['status']}, wanted {states}")


# --- No error body leaks a server path or a stack trace (issue #12, finding 14) --------------------
# Every error envelope the app renders in this process, and the `error` objects of every JSON answer
# read through the Flask test client (a failed job's `error` comes from a worker), are checked for
# path-like text. A leak fails the test that produced it, whatever that test is about.

_LEAKED: list[str] = []
_LEAK_MARKERS = ["/tmp/", "/work/", "/var/lib/sealforge", "Traceback (most recent call last)", 'File "']


def _leak_check(source: str, text: str) -> None:
    for marker in _LEAK_MARKERS:
        if marker in text:
            _LEAKED.append(f"{source} carries {marker!r}: {text[:400]}")
            return


def _error_objects(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        return []
    found = [body["error"]] if body.get("error") else []
    items = body.get("data")
    if isinstance(items, list):
        found.extend(item["error"] for item in items if isinstance(item, dict) and item.get("error"))
    return found


@pytest.fixture(scope="session", autouse=True)
def _watch_error_bodies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    import json

    from appliance.api import envelope

    _LEAK_MARKERS.extend([str(tmp_path_factory.getbasetemp()), str(Path(__file__).resolve().parents[1])])
    render = envelope.render
    client_open = FlaskClient.open

    def checked_render(error: Any) -> Any:
        response = render(error)
        _leak_check(f"error envelope {error.code}", response.get_data(as_text=True))
        return response

    def checked_open(self: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        response = client_open(self, *args, **kwargs)
        if response.mimetype == "application/json":
            text = response.get_data(as_text=True)
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            if response.status_code >= 400:
                _leak_check(f"HTTP {response.status_code} body", text)
            for error in _error_objects(body):
                _leak_check("an `error` object in a JSON answer", json.dumps(error))
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(envelope, "render", checked_render)
        patch.setattr(FlaskClient, "open", checked_open)
        yield


@pytest.fixture(autouse=True)
def _no_leaks_in_error_bodies(_watch_error_bodies: None) -> Iterator[None]:
    _LEAKED.clear()
    yield
    if _LEAKED:
        leaks = list(_LEAKED)
        _LEAKED.clear()
        pytest.fail("an error body leaked server paths or a traceback:\n" + "\n".join(leaks), pytrace=False)
