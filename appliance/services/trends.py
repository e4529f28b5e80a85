"""Trends of a live run: its values once a second (``scada_history``), decimated on the server.

Why on the server: a day at 1 Hz is 86,400 points per pen, far more than a chart of 1,300 pixels
can show and more than a page should download. A view gets at most ``MAX_POINTS`` points per pen,
made by min/max decimation: each bucket of samples gives its lowest and its highest value, in the
order they happened, so a spike of one sample still reaches the chart. Windows are capped at one
day (what a run keeps); the CSV export of a view gives the raw samples of exactly its range.
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
from appliance.store import scada_history as store

MAX_POINTS = 2000
MAX_PENS = 8
MAX_WINDOW_S = 86_400
DEFAULT_WINDOW_S = 600
EVERY_MS = 1000  # one history row a second


def plant_tags(plant: str) -> list[dict[str, Any]]:
    """The plant's tags in the order a history row packs them."""
    from simulators.plants.registry import get_plant

    return [c.info() for c in get_plant(plant).tag_table().columns]


def pack(names: Sequence[str], values: Mapping[str, Any]) -> bytes:
    """One history row: every tag as a float64 (booleans as 0/1; a missing value as NaN)."""
    return array("d", (float(values[n]) if n in values else float("nan") for n in names)).tobytes()


def record(
    conn: sqlite3.Connection, run_id: str, names: Sequence[str], snapshot: Mapping[str, Any], trim: bool
) -> None:
    """The worker's part: one row for the sample ``snapshot`` (its timestamp, values and attacks)."""
    from simulators.validation import parse_time

    t_ms = int(parse_time(str(snapshot["timestamp"]), "timestamp"))
    attacks = str(snapshot.get("attack_id") or "") or None
    store.append(conn, run_id, t_ms, pack(names, snapshot.get("values") or {}), attacks, trim)


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
    held = store.span(conn, run_id)
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


def _rows(conn: sqlite3.Connection, run_id: str, start: int, end: int) -> list[dict[str, Any]]:
    return store.window(conn, run_id, start, end, MAX_WINDOW_S * 1000 // EVERY_MS + 10)


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
    rows = _rows(conn, run["id"], start, end)
    times = np.fromiter((r["t_ms"] for r in rows), dtype=np.int64, count=len(rows))
    width = len(tags)
    matrix = np.frombuffer(b"".join(r["data"] for r in rows), dtype=np.float64).reshape(len(rows), width)
    chosen = matrix[:, pens] if len(rows) else np.empty((0, len(pens)))
    x, y = decimate(times, chosen, max_points)
    series = {tags[i]["name"]: [None if np.isnan(v) else float(v) for v in y[:, k]] for k, i in enumerate(pens)}
    return {
        "run_id": run["id"],
        "start": start / 1000,
        "end": end / 1000,
        "samples": len(rows),
        "decimated": len(x) < len(rows),
        "t": [float(t) / 1000 for t in x],
        "pens": [{k: tags[i][k] for k in ("name", "unit", "low", "high", "description")} for i in pens],
        "series": series,
        "bands": _bands([int(t) for t in times], [r["attacks"] for r in rows]),
    }


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
    for row in _rows(conn, run["id"], start, end):
        values = array("d")
        values.frombytes(row["data"])
        if len(values) != width:
            continue
        writer.writerow([iso(row["t_ms"] / 1000), *(repr(values[i]) for i in pens), row["attacks"] or ""])
    return out.getvalue()
