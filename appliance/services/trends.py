"""Trends of a live run: its values once a second (``scada_history``), decimated on the server.

Why on the server: a day at 1 Hz is 86,400 points per pen, far more than a chart of 1,300 pixels
can show and more than a page should download. A view gets at most ``MAX_POINTS`` points per pen,
made by min/max decimation: each bucket of samples gives its lowest and its highest value, in the
order they happened, so a spike of one sample still reaches the chart. Windows are capped at one
day (what a run keeps); the CSV export of a view gives the raw samples of exactly its range.

A view longer than ``ROLLUP_FROM_S`` reads the per-minute rollups (each tag's min and max over the
minute, written by the worker as each minute ends) and the raw seconds after the last one: 1,440
rows for a day instead of 86,400, and the same envelope, since the min and max of a bucket are the
min and max of its minutes' (its left edge is whole minutes).
"""

from __future__ import annotations

import csv
import io
import sqlite3
from array import array
from collections.abc import Mapping, Sequence
from typing import Any

from appliance import errors
from appliance.clock import iso
from appliance.store import scada_history as scada_history_store
from appliance.store.db import transaction

MAX_POINTS = 2000
MAX_PENS = 8
MAX_WINDOW_S = 86_400
DEFAULT_WINDOW_S = 600
EVERY_MS = 1000  # one history row a second
MINUTE_MS = 60_000
ROLLUP_FROM_S = MAX_POINTS  # longer views read the per-minute rollups
KEPT_AFTER_END_S = 86_400


def plant_tags(plant: str) -> list[dict[str, Any]]:
    """The plant's tags in the order a history row packs them."""
    from simulators.plants.registry import get_plant

    return [c.info() for c in get_plant(plant).tag_table().columns]


class MinuteRollup:
    """The worker's running min and max of each tag over the current minute."""

    def __init__(self) -> None:
        self.minute: int | None = None
        self.n = 0
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.attacks: list[str] = []

    def add(self, t_ms: int, row: Sequence[float], attacks: str | None) -> tuple[Any, ...] | None:
        """Take one sample; returns the finished minute ``(t_ms, n, lo, hi, attacks)`` when this
        sample starts a new one."""
        minute = t_ms - t_ms % MINUTE_MS
        done = self.finished() if self.minute is not None and minute != self.minute else None
        if self.minute != minute:
            self.minute, self.n, self.lo, self.hi, self.attacks = minute, 0, list(row), list(row), []
        else:
            self.lo = [a if v != v or a <= v else v for a, v in zip(self.lo, row, strict=True)]  # NaN: no value
            self.hi = [a if v != v or a >= v else v for a, v in zip(self.hi, row, strict=True)]
        self.n += 1
        if attacks and attacks not in self.attacks:
            self.attacks.append(attacks)
        return done

    def finished(self) -> tuple[Any, ...]:
        return (
            self.minute,
            self.n,
            array("d", self.lo).tobytes(),
            array("d", self.hi).tobytes(),
            ";".join(self.attacks) or None,
        )


def record(
    conn: sqlite3.Connection,
    run_id: str,
    names: Sequence[str],
    snapshot: Mapping[str, Any],
    trim: bool,
    rollup: MinuteRollup | None = None,
) -> None:
    """The worker's part: one row for the sample ``snapshot`` (its timestamp, values and attacks;
    every tag as a float64, booleans as 0/1, a missing value as NaN), and the minute's rollup when
    ``rollup`` says a minute has ended."""
    from simulators.validation import parse_time

    t_ms = int(parse_time(str(snapshot["timestamp"]), "timestamp"))
    attacks = str(snapshot.get("attack_id") or "") or None
    values = snapshot.get("values") or {}
    row = [float(values[n]) if n in values else float("nan") for n in names]
    scada_history_store.append(conn, run_id, t_ms, array("d", row).tobytes(), attacks, trim)
    if rollup is not None:
        done = rollup.add(t_ms, row, attacks)
        if done is not None:
            scada_history_store.append_minute(conn, run_id, *done)


def prune(conn: sqlite3.Connection) -> int:
    """A run's trends stay a day after it ends (its recording is its full record); the `sim`
    worker drops older ones when it starts a run."""
    import time

    with transaction(conn):
        return scada_history_store.prune_ended(conn, iso(time.time() - KEPT_AFTER_END_S))


def _pens(tags: Sequence[dict[str, Any]], wanted: Sequence[str]) -> list[int]:
    if not wanted:
        raise errors.validation("tags", "pick at least one tag")
    if len(wanted) > MAX_PENS:
        raise errors.validation("tags", f"at most {MAX_PENS} pens in one view")
    index = {t["name"]: i for i, t in enumerate(tags)}
    missing = [w for w in wanted if w not in index]
    if missing:
        raise errors.validation("tags", f"not a tag of this plant: {missing[0][:64]}")
    return [index[w] for w in wanted]


def _window(
    conn: sqlite3.Connection, run_id: str, start_ms: int | None, end_ms: int | None, last_ms: int | None
) -> tuple[int, int]:
    """[start, end] as asked; a missing end is the latest sample held, a missing start is ``last_ms``
    (default ten minutes) before it, but not before the first sample held, so a young run fills the view."""
    held = scada_history_store.span(conn, run_id)
    newest = int(held["last"]) if held else 0
    end = end_ms if end_ms is not None else newest
    if start_ms is not None:
        start = start_ms
    else:
        start = end - (last_ms or DEFAULT_WINDOW_S * 1000)
        if held and int(held["first"]) > start and int(held["first"]) < end:
            start = int(held["first"])
    if start >= end:
        raise errors.validation("start", "must be before end")
    if end - start > MAX_WINDOW_S * 1000:
        raise errors.validation("end", f"a window of at most {MAX_WINDOW_S} s (one day)")
    return start, end


def _rows(conn: sqlite3.Connection, run_id: str, start: int, end: int) -> list[tuple[int, bytes, str | None]]:
    return scada_history_store.window(conn, run_id, start, end, MAX_WINDOW_S * 1000 // EVERY_MS + 10)


def _bands(times: Sequence[int], attacks: Sequence[str | None]) -> list[dict[str, Any]]:
    """Spans of consecutive rows under the same attacks, labelled with their ids."""
    bands: list[dict[str, Any]] = []
    for t, label in zip(times, attacks, strict=True):
        if label and bands and bands[-1]["label"] == label and bands[-1]["open"]:
            bands[-1]["end"] = t
        elif label:
            bands.append({"start": t, "end": t, "label": label, "open": True})
        elif bands:
            bands[-1]["open"] = False
    return [{"start": b["start"] / 1000, "end": b["end"] / 1000, "label": b["label"]} for b in bands]


def decimate(times: Any, values: Any, max_points: int) -> tuple[Any, Any]:
    """Min/max decimation of ``values`` (rows × pens) over ``times`` (ms): at most ``max_points``
    per pen. Each bucket gives two points at its first and last time: the pen's min and max, in
    the order they happened. NaN (no value) is skipped; a bucket of NaN stays NaN."""
    import numpy as np

    n = len(times)
    if n <= max_points:
        return times, values
    buckets = max_points // 2
    size = -(-n // buckets)
    buckets = -(-n // size)
    pad = buckets * size - n
    padded = np.concatenate([values, np.full((pad, values.shape[1]), np.nan)]) if pad else values
    shaped = padded.reshape(buckets, size, values.shape[1])
    filled_lo = np.where(np.isnan(shaped), np.inf, shaped)
    filled_hi = np.where(np.isnan(shaped), -np.inf, shaped)
    i_min, i_max = filled_lo.argmin(axis=1), filled_hi.argmax(axis=1)
    v_min = np.take_along_axis(shaped, i_min[:, None, :], axis=1)[:, 0, :]
    v_max = np.take_along_axis(shaped, i_max[:, None, :], axis=1)[:, 0, :]
    first_before = i_min <= i_max
    out = np.empty((buckets * 2, values.shape[1]))
    out[0::2] = np.where(first_before, v_min, v_max)
    out[1::2] = np.where(first_before, v_max, v_min)
    starts = times[0::size][:buckets]
    ends = times[np.minimum(np.arange(buckets) * size + size - 1, n - 1)]
    x = np.empty(buckets * 2, dtype=times.dtype)
    x[0::2], x[1::2] = starts, ends
    return x, out


def view(
    conn: sqlite3.Connection,
    run: dict[str, Any],
    wanted: Sequence[str],
    start_ms: int | None,
    end_ms: int | None,
    max_points: int = MAX_POINTS,
    last_ms: int | None = None,
) -> dict[str, Any]:
    """The pens over [start, end] (default: the last ten minutes held), decimated, with attack bands.
    Times are Unix seconds (what uPlot draws)."""
    import numpy as np

    tags = plant_tags(run["plant"])
    pens = _pens(tags, wanted)
    if not 2 <= max_points <= MAX_POINTS:
        raise errors.validation("points", f"between 2 and {MAX_POINTS}")
    start, end = _window(conn, run["id"], start_ms, end_ms, last_ms)
    width = len(tags)
    minutes = scada_history_store.minutes(conn, run["id"], start, end) if end - start > ROLLUP_FROM_S * 1000 else []
    raw_from = minutes[-1][0] + MINUTE_MS if minutes else start
    rows = _rows(conn, run["id"], raw_from, end)
    times, matrix, samples = _raw_points(np, rows, width)
    band_times, band_labels = [r[0] for r in rows], [r[2] for r in rows]
    if minutes:
        # each minute as two points, its min then its max (the order inside it is not kept)
        t_min = np.fromiter((m[0] for m in minutes), dtype=np.int64, count=len(minutes))
        lo = np.frombuffer(b"".join(m[2] for m in minutes), dtype=np.float64).reshape(len(minutes), width)
        hi = np.frombuffer(b"".join(m[3] for m in minutes), dtype=np.float64).reshape(len(minutes), width)
        pairs = np.empty((len(minutes) * 2, width))
        pairs[0::2], pairs[1::2] = lo, hi
        t_pairs = np.empty(len(minutes) * 2, dtype=np.int64)
        t_pairs[0::2], t_pairs[1::2] = t_min, t_min + MINUTE_MS - EVERY_MS
        times, matrix = np.concatenate([t_pairs, times]), np.concatenate([pairs, matrix])
        samples += sum(int(m[1]) for m in minutes)
        band_times = [int(m[0]) for m in minutes] + band_times
        band_labels = [m[4] for m in minutes] + band_labels
    chosen = matrix[:, pens] if len(times) else np.empty((0, len(pens)))
    x, y = decimate(times, chosen, max_points)
    series = {tags[i]["name"]: [None if np.isnan(v) else float(v) for v in y[:, k]] for k, i in enumerate(pens)}
    return {
        "run_id": run["id"],
        "start": start / 1000,
        "end": end / 1000,
        "samples": samples,
        "decimated": len(x) < samples,
        "rollup": bool(minutes),
        "t": [float(t) / 1000 for t in x],
        "pens": [{k: tags[i][k] for k in ("name", "unit", "low", "high", "description")} for i in pens],
        "series": series,
        "bands": _bands(band_times, band_labels),
    }


def _raw_points(np: Any, rows: list[tuple[int, bytes, str | None]], width: int) -> tuple[Any, Any, int]:
    times = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float64).reshape(len(rows), width)
    return times, matrix, len(rows)


def view_csv(
    conn: sqlite3.Connection,
    run: dict[str, Any],
    wanted: Sequence[str],
    start_ms: int | None,
    end_ms: int | None,
    last_ms: int | None = None,
) -> str:
    """Every sample of the pens in [start, end], undecimated: exactly the range a view shows."""
    tags = plant_tags(run["plant"])
    pens = _pens(tags, wanted)
    start, end = _window(conn, run["id"], start_ms, end_ms, last_ms)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", *(tags[i]["name"] for i in pens), "attacks"])
    width = len(tags)
    for t_ms, data, attacks in _rows(conn, run["id"], start, end):
        values = array("d")
        values.frombytes(data)
        if len(values) != width:
            continue
        writer.writerow([iso(t_ms / 1000), *(repr(values[i]) for i in pens), attacks or ""])
    return out.getvalue()
