"""Property-based run over /openapi.json: generated requests never get a 5xx, and every error
answer is the JSON envelope. Uses schemathesis' strategies directly under hypothesis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from appliance.api import create_app
from appliance.services import identity
from appliance.store.open import open_db


def check_operation(operation: Any, headers: dict[str, str], failures: list[str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400:
            error = response.json()["error"]
            assert error["status"] == response.status_code and error["code"].isupper()

    run()


def test_no_server_errors_and_errors_are_enveloped(tmp_path: Path) -> None:
    app = create_app({"server": {"state_dir": str(tmp_path)}, "ratelimit": {"enabled": False}})
    key = identity.bootstrap(open_db(tmp_path), tmp_path / "keys")["api_key"]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        check_operation(operation, {"X-API-Key": key}, failures)
        check_operation(operation, {}, failures)  # and without credentials
    assert operations >= 10
    assert failures == []
