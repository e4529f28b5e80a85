"""Fixtures for the protocol tests: an event loop in a thread for servers, plants with quiet sensors.

Servers run on their own loop (as in a live run) while clients run in the test's thread, so a
client here talks to a server over real loopback sockets exactly as an HMI would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest

from simulators import LivePlant
from tests.simulators.helpers import SMOOTH_WATER

T = TypeVar("T")
QUIET = {"noise": 0.0}
# PI level loops (the water plant's smooth mode): these tests watch a level follow its setpoint.
STEADY = {"demand_variability": 0.0, **SMOOTH_WATER}


class LoopThread:
    """An asyncio loop in a daemon thread; `run(coro)` executes a coroutine there and returns its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="server-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def server_loop() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


def water_plant() -> LivePlant:
    return LivePlant("water", STEADY, sensors=QUIET)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
