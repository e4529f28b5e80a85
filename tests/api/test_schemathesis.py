"""Property-based run over /openapi.json: generated requests never get a 5xx, and every error
answer is the JSON envelope. Uses schemathesis' strategies directly under hypothesis.

One test per operation, so a failure names its route and the operations spread over test
processes. The default run draws 12 requests per operation with a key and 12 without;
``--run-slow`` draws 100 of each."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from appliance.api import create_app
from appliance.cli.release import release
from appliance.services import identity
from appliance.store.open import open_db

DEFAULT_EXAMPLES = 12
SLOW_EXAMPLES = 100
# Open-ended streams that answer any keyed request with 200 and stay open (no id in the path to
# miss): read to the end in-process they would hold each draw for a whole stream. They get the
# unauthenticated draws here; their keyed behaviour is tested live in tests/api/test_streams.py.
OPEN_STREAMS = {"GET /v1/events"}


def _operation_labels() -> list[str]:
    """The spec's operations, read from an app on a throwaway state dir at collection time."""
    with tempfile.TemporaryDirectory() as state:
        app = create_app({"server": {"state_dir": state}})
        schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
        labels = [result.ok().label for result in schema.get_all_operations()]
        release(Path(state))
    return labels


LABELS = _operation_labels()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    state = tmp_path_factory.mktemp("schemathesis")
    app = create_app({"server": {"state_dir": str(state)}, "ratelimit": {"enabled": False}})
    key = identity.bootstrap(open_db(state), state / "keys")["api_key"]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    yield {result.ok().label: result.ok() for result in schema.get_all_operations()}, key
    release(state)


def check_operation(operation: Any, headers: dict[str, str], examples: int, failures: list[str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400:
            error = response.json()["error"]
            assert error["status"] == response.status_code and error["code"].isupper()

    run()


def test_the_spec_has_operations() -> None:
    assert len(LABELS) >= 10


@pytest.mark.parametrize("label", LABELS)
def test_no_server_errors_and_errors_are_enveloped(
    api: tuple[dict[str, Any], str], label: str, request: pytest.FixtureRequest
) -> None:
    operations, key = api
    examples = SLOW_EXAMPLES if request.config.getoption("--run-slow") else DEFAULT_EXAMPLES
    failures: list[str] = []
    if label not in OPEN_STREAMS:
        check_operation(operations[label], {"X-API-Key": key}, examples, failures)
    check_operation(operations[label], {}, examples, failures)  # and without credentials
    assert failures == []
