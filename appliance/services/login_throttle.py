"""Growing back-off after failed logins, per account and per source address.

One policy for every password login on the appliance (``POST /v1/auth/login`` and the live runs'
OPC UA servers), so guessing at one door does not reset the count at the other. The caller asks
``retry_after`` *before* hashing the password: a throttled attempt is refused with one indexed
read of a small side database, so a flood of bad logins costs the appliance almost nothing and
cannot crowd out other clients' work. The counters live under the state dir (``login_throttle.db``),
shared by every process that serves logins.

Each account and each source address may fail ``login_free_attempts`` times (sources:
``login_source_free_attempts``) before it waits: that failure blocks the key for
``login_backoff_base_s`` seconds, and each further one doubles the wait, capped at
``login_backoff_max_s``. A success clears the account's count but not the source's, so an
attacker cannot reset a source that sprays many accounts by logging into one of its own. Counts
are forgotten after ``login_forget_s`` seconds without a new failure. Attempts refused while
throttled are not counted, so a client that retries too early is not punished beyond the wait it
was told. The check and the count are not one step: logins already hashing when a key becomes
blocked still finish, so at most the server's request threads slip through per back-off step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from appliance.config import ConfigError
from appliance.store import login_throttle as login_throttle_store

_ACCOUNT, _SOURCE = "account:", "source:"
_MAX_KEY_CHARS = 320
DEFAULTS: dict[str, float] = {
    "login_free_attempts": 5,
    "login_source_free_attempts": 20,
    "login_backoff_base_s": 1.0,
    "login_backoff_max_s": 300.0,
    "login_forget_s": 3600.0,
}


class LoginThrottle:
    """Back-off state for password logins under ``state_dir``.

    ``cfg`` is the ``[auth]`` config section (the whole config, with an ``auth`` table, works
    too); missing keys take the defaults above. Instances hold no state of their own, so one per
    request is fine and any number of processes can share a state dir.
    """

    def __init__(self, state_dir: Path, cfg: dict[str, Any]) -> None:
        section = cfg["auth"] if isinstance(cfg.get("auth"), dict) else cfg
        merged = {**DEFAULTS, **{k: v for k, v in section.items() if k in DEFAULTS}}
        negative = sorted(k for k, v in merged.items() if float(v) < 0)
        if negative:
            raise ConfigError(f"[auth] {', '.join(negative)} cannot be negative")
        self.state_dir = Path(state_dir)
        self.free_attempts = int(merged["login_free_attempts"])
        self.source_free_attempts = int(merged["login_source_free_attempts"])
        self.base_s = float(merged["login_backoff_base_s"])
        self.max_s = float(merged["login_backoff_max_s"])
        self.forget_s = float(merged["login_forget_s"])

    def retry_after(self, account: str, source: str) -> float:
        """Seconds until this account may try again from this source; 0.0 means now."""
        now = time.time()
        return max(0.0, login_throttle_store.blocked_until(self.state_dir, self._keys(account, source)) - now)

    def record_failure(self, account: str, source: str) -> None:
        """Count a wrong password (or unknown account) for both the account and the source."""
        now = time.time()
        keys = self._keys(account, source)
        login_throttle_store.add_failure(self.state_dir, keys, now, now - self.forget_s, self._delay)

    def record_success(self, account: str, source: str) -> None:
        """Clear the account's count; the source's count is left to run out (see the module doc)."""
        key = _account_key(account)
        if key:
            login_throttle_store.clear(self.state_dir, key)

    def unblock(self, account: str = "", source: str = "") -> list[str]:
        """Forget the counts of an account and/or a source address (the operator's remedy when a
        guesser keeps a real user waiting); returns the keys cleared."""
        keys = self._keys(account, source)
        for key in keys:
            login_throttle_store.clear(self.state_dir, key)
        return keys

    def _delay(self, key: str, failures: int) -> float:
        free = self.source_free_attempts if key.startswith(_SOURCE) else self.free_attempts
        if failures < free:
            return 0.0
        return min(self.max_s, self.base_s * 2.0 ** min(failures - free, 62))

    @staticmethod
    def _keys(account: str, source: str) -> list[str]:
        keys = [_account_key(account)]
        source = source.strip()[:_MAX_KEY_CHARS]
        if source:
            keys.append(_SOURCE + source)
        return [k for k in keys if k]


def _account_key(account: str) -> str:
    account = account.strip().lower()[:_MAX_KEY_CHARS]
    return _ACCOUNT + account if account else ""
