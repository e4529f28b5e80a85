"""The back-off policy of LoginThrottle, on a real login_throttle.db in a fresh state dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import ConfigError
from appliance.services.login_throttle import LoginThrottle

CFG = {"login_free_attempts": 2, "login_source_free_attempts": 3, "login_backoff_base_s": 10.0}


def _waits(throttle: LoginThrottle, account: str, source: str, failures: int) -> list[float]:
    waits = []
    for _ in range(failures):
        throttle.record_failure(account, source)
        waits.append(throttle.retry_after(account, source))
    return waits


def test_free_attempts_then_a_doubling_wait_up_to_the_cap(state_dir: Path) -> None:
    throttle = LoginThrottle(state_dir, {**CFG, "login_source_free_attempts": 100, "login_backoff_max_s": 35.0})
    waits = _waits(throttle, "eng@plant.example", "10.0.0.1", 5)
    assert waits[0] == 0.0
    for got, want in zip(waits[1:], [10.0, 20.0, 35.0, 35.0], strict=True):
        assert want - 5 < got <= want


def test_accounts_match_without_case_or_spaces_and_sources_are_separate(state_dir: Path) -> None:
    throttle = LoginThrottle(state_dir, {**CFG, "login_source_free_attempts": 100})
    _waits(throttle, " Eng@Plant.example", "10.0.0.1", 2)
    assert throttle.retry_after("eng@plant.example", "10.0.0.2") > 0
    assert throttle.retry_after("other@plant.example", "10.0.0.1") == 0.0


def test_success_clears_the_account_but_not_the_source(state_dir: Path) -> None:
    throttle = LoginThrottle(state_dir, CFG)
    _waits(throttle, "a@plant.example", "10.0.0.1", 2)
    _waits(throttle, "b@plant.example", "10.0.0.1", 1)
    throttle.record_success("a@plant.example", "10.0.0.1")
    assert throttle.retry_after("a@plant.example", "10.0.0.9") == 0.0
    assert throttle.retry_after("c@plant.example", "10.0.0.1") > 0, "the source sprayed 3 accounts"


def test_old_failures_are_forgotten(state_dir: Path) -> None:
    throttle = LoginThrottle(state_dir, {**CFG, "login_forget_s": 0.0})
    assert _waits(throttle, "a@plant.example", "10.0.0.1", 5) == [0.0] * 5


def test_the_whole_config_or_its_auth_section_and_no_negatives(state_dir: Path) -> None:
    whole = LoginThrottle(state_dir, {"auth": CFG, "server": {"port": 1}})
    assert (whole.free_attempts, whole.base_s) == (2, 10.0)
    with pytest.raises(ConfigError, match="login_backoff_base_s"):
        LoginThrottle(state_dir, {"login_backoff_base_s": -1})


def test_empty_account_or_source_are_skipped(state_dir: Path) -> None:
    throttle = LoginThrottle(state_dir, CFG)
    _waits(throttle, "", "10.0.0.1", 3)
    assert throttle.retry_after("", "10.0.0.1") > 0
    assert throttle.retry_after("a@plant.example", "") == 0.0
