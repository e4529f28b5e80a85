"""History of the OPC UA plant server's variables, for HistoryRead (ReadRawModifiedDetails).

A historian on the plant network answers HistoryRead, and a client that imports a time range
(the appliance's own OPC UA connector, a researcher's tool) needs a server that does, so a live
run keeps the last `keep` values of every variable it publishes. The server records each value
as `update()` publishes it (no internal subscription that could drop a change between two of its
publishing cycles), compactly: per variable a bounded deque of (source time in microseconds,
value, status code), about 120 bytes a value, and DataValues are made only for the page a client
reads. The oldest value goes when a new one comes, so memory is bounded by `keep` x variables
whatever the run's speed (a period in wall time would not bound a run at x100).

Paging follows Part 11: a read returns at most NumValuesPerNode values (or `page`, the server's
own limit, if smaller or none was asked) and a continuation point when more remain in the range;
the next read with that point goes on from the first value not returned. The point is that value's
source time (asyncua's stateless scheme, which the server's HistoryRead service packs as a
DateTime). That is exact while a variable's values have distinct source times, as every scan's
do; only a setpoint written twice within one scan has two values at one time, and a page that
ends between them repeats the first at the start of the next. asyncua's own in-memory history
cuts at NumValuesPerNode without a continuation point, which would make a paging client stop early.
Only forward reads (start before end) are paged; events have no history here.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncua import ua
from asyncua.server.history import HistoryStorageInterface

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(when: datetime) -> int:
    """Microseconds since 1970 (exact: no float in between)."""
    return (when.replace(tzinfo=when.tzinfo or UTC) - EPOCH) // _MICROSECOND


def _bound(when: datetime | None) -> int | None:
    """A HistoryRead bound: None when the client left it unset (asyncua sends the 1601 epoch)."""
    if when is None or when <= ua.get_win_epoch():
        return None
    return micros(when)


class TagHistory(HistoryStorageInterface):
    """The last `keep` values of each tracked variable, read back in pages of at most `page`."""

    def __init__(self, keep: int, page: int = 1000) -> None:
        if keep < 1 or page < 1:
            raise ValueError("keep and page must be at least 1")
        super().__init__(page)
        self.keep = keep
        self._values: dict[ua.NodeId, deque[tuple[int, Any, int]]] = {}
        self._types: dict[ua.NodeId, ua.VariantType] = {}

    def track(self, node_id: ua.NodeId, variant: ua.VariantType) -> None:
        self._values[node_id] = deque(maxlen=self.keep)
        self._types[node_id] = variant

    def record(self, node_id: ua.NodeId, value: Any, status: int, source_us: int) -> None:
        """One published value (called by the server's `update()` for each change)."""
        self._values[node_id].append((source_us, value, status))

    def count(self, node_id: ua.NodeId) -> int:
        return len(self._values.get(node_id, ()))

    # -- asyncua's storage interface ---------------------------------------------------------------
    async def init(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def new_historized_node(self, node_id: ua.NodeId, period: timedelta | None, count: int = 0) -> None:
        self._values.setdefault(node_id, deque(maxlen=count or self.keep))

    async def save_node_value(self, node_id: ua.NodeId, datavalue: ua.DataValue) -> None:
        variant = datavalue.Value
        when = datavalue.SourceTimestamp or datavalue.ServerTimestamp or datetime.now(UTC)
        if variant is not None:
            self._types.setdefault(node_id, variant.VariantType)
        code = datavalue.StatusCode.value if datavalue.StatusCode is not None else 0
        self._values.setdefault(node_id, deque(maxlen=self.keep)).append(
            (micros(when), variant.Value if variant is not None else None, code)
        )

    async def read_node_history(
        self, node_id: ua.NodeId, start: datetime | None, end: datetime | None, nb_values: int
    ) -> tuple[list[ua.DataValue], datetime | None]:
        values = self._values.get(node_id)
        if values is None:
            return [], None
        low, high = _bound(start), _bound(end)
        if low is not None and high is not None and low > high:
            low, high = high, low  # a backward range: served forward (the connector reads forward)
        limit = (
            min(nb_values, self.max_history_data_response_size) if nb_values else self.max_history_data_response_size
        )
        variant = self._types.get(node_id, ua.VariantType.Variant)
        page: list[ua.DataValue] = []
        for source_us, value, code in list(values):
            if (low is not None and source_us < low) or (high is not None and source_us > high):
                continue
            when = EPOCH + source_us * _MICROSECOND
            if len(page) == limit:
                return page, when  # the first value not returned: the next read starts there
            page.append(ua.DataValue(ua.Variant(value, variant), ua.StatusCode(code), when, when))  # type: ignore[arg-type]
        return page, None

    async def new_historized_event(
        self, source_id: ua.NodeId, evtypes: list[Any], period: timedelta | None, count: int = 0
    ) -> None:
        return None

    async def save_event(self, event: Any) -> None:
        return None

    async def read_event_history(
        self, source_id: ua.NodeId, start: datetime | None, end: datetime | None, nb_values: int, evfilter: Any
    ) -> tuple[list[Any], datetime | None]:
        return [], None
