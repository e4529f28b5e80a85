"""Benchmark: what a password login costs, for known and unknown e-mails, and under a guessing flood.

1. Median and p95 of ``POST /v1/auth/login`` through the real app (in-process test client, fresh
   state dir) for a known e-mail with the right password, a known e-mail with a wrong one, and an
   unknown e-mail. Peer, the floor: one bare ``hashlib.scrypt`` with the same parameters. The
   unknown/known ratio should be about 1.0: a lower one tells a guesser which accounts exist.
2. 200 wrong passwords for one account in a row, as a guesser would send them: the answers by
   status and the wall time. With the throttle most are 429 answered before scrypt runs.

    .venv/bin/python bench/login.py [--samples 50]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance.api import create_app  # noqa: E402
from appliance.services import identity  # noqa: E402
from appliance.services.secrets import _SCRYPT_N, _SCRYPT_P, _SCRYPT_R  # noqa: E402
from appliance.store.open import open_db  # noqa: E402

PASSWORD = "correct horse battery"
GUESSER = "192.0.2.10"  # documentation range: only a REMOTE_ADDR string in the test client, never dialled


def timed(samples: int, call: Callable[[], object]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "var"
        # The request rate limiter is off so that only the login throttle answers 429.
        cfg = {"server": {"state_dir": str(state)}, "ratelimit": {"enabled": False}}
        # Room for the timing samples; the flood below runs with the default login throttle.
        timing_cfg = {**cfg, "auth": {"login_free_attempts": 100_000, "login_source_free_attempts": 100_000}}
        conn = open_db(state)
        tenant = identity.create_tenant(conn, "bench", 0)
        identity.create_user(conn, tenant["id"], "eng@plant.example", PASSWORD, "read")
        identity.create_user(conn, tenant["id"], "target@plant.example", PASSWORD, "read")

        client = create_app(timing_cfg).test_client()

        def login(email: str, password: str) -> int:
            return client.post("/v1/auth/login", json={"email": email, "password": password}).status_code

        salt = b"0123456789abcdef"
        rows = {
            "bare scrypt (peer floor)": timed(args.samples, lambda: hashlib.scrypt(
                PASSWORD.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)),
            "known e-mail, right password": timed(args.samples, lambda: login("eng@plant.example", PASSWORD)),
            "known e-mail, wrong password": timed(args.samples, lambda: login("eng@plant.example", "wrong password!!")),
            "unknown e-mail": timed(args.samples, lambda: login("nobody@plant.example", "wrong password!!")),
        }
        print(f"{'login':34} {'p50 ms':>8} {'p95 ms':>8}")
        for name, (p50, p95) in rows.items():
            print(f"{name:34} {p50:8.1f} {p95:8.1f}")
        known, unknown = rows["known e-mail, wrong password"][0], rows["unknown e-mail"][0]
        print(f"ratio unknown/known e-mail: {unknown / known:.2f}x; known login / bare scrypt: "
              f"{rows['known e-mail, right password'][0] / rows['bare scrypt (peer floor)'][0]:.2f}x")

        flood_client = create_app(cfg).test_client()
        statuses: collections.Counter[int] = collections.Counter()
        start = time.perf_counter()
        for _ in range(200):
            statuses[flood_client.post(
                "/v1/auth/login",
                json={"email": "target@plant.example", "password": "guess guess guess"},
                environ_base={"REMOTE_ADDR": GUESSER},  # a fresh source: the samples above failed from 127.0.0.1
            ).status_code] += 1
        wall = time.perf_counter() - start
        print(f"200 wrong passwords for one account: {dict(sorted(statuses.items()))} in {wall:.2f} s")


if __name__ == "__main__":
    main()
