"""A one-day trend of 8 pens at 1 Hz in Chromium: the trends page (server-side min/max decimation)
beside the peer way of drawing it (every raw sample sent to the browser and drawn by the same
uPlot), in one run, on one appliance.

A fresh state dir gets a tenant, a user and a water run (reserved through the API; no worker, so it
stays `starting`, which the trend routes do not mind) with 86,400 history rows, one a second for a
day, and their per-minute rollups, as a live run's worker writes them (``services.trends.record``),
an attack in the middle. A
real `sealforge api` serves it; Debian's chromium (Playwright, headless) logs in and then:

- **page**: opens ``/plant/{run}/trends`` with 8 pens and a one-day window, from navigation to
  the chart drawn (the issue's budget: <= 1 s);
- **decimated**: in that page, fetches the trend route (8 pens, the day, <= 2,000 points per pen)
  and draws it with uPlot;
- **raw (peer)**: fetches the same day as CSV (every sample), parses it and draws all 86,400
  points per pen with uPlot.

Each is repeated ``--repeat`` times; medians are printed with the ratio raw / decimated.

    .venv/bin/python bench/ui_trend.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password, long enough"
PENS = ["LIT101", "LIT102", "FIT101", "FIT102", "FIT201", "PIT201", "AIT201", "P101.SPEED"]
DAY_S = 86_400
START_MS = 1_796_000_000_000

DRAW = """async ([url, pens, raw]) => {
  const t0 = performance.now();
  const answer = await fetch(url, {credentials: 'same-origin'});
  let data;
  if (raw) {
    const lines = (await answer.text()).trim().split('\\n');
    const cols = pens.map(() => new Float64Array(lines.length - 1));
    const t = new Float64Array(lines.length - 1);
    for (let i = 1; i < lines.length; i++) {
      const f = lines[i].split(',');
      t[i - 1] = Date.parse(f[0]) / 1000;
      for (let k = 0; k < pens.length; k++) cols[k][i - 1] = +f[k + 1];
    }
    data = [t, ...cols];
  } else {
    const j = await answer.json();
    data = [j.t, ...pens.map(p => j.series[p])];
  }
  const el = document.createElement('div');
  document.body.appendChild(el);
  const opts = {width: 1200, height: 420, scales: {x: {time: true}},
                series: [{}, ...pens.map(p => ({label: p, stroke: '#0b4f9c', width: 1}))]};
  const u = new uPlot(opts, data, el);
  await new Promise(r => requestAnimationFrame(() => r()));
  const ms = performance.now() - t0;
  u.destroy();
  el.remove();
  return [ms, data[0].length];
}"""


PHASES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const trend = performance.getEntriesByType('resource').filter(e => e.name.includes('/trend?'))[0];
  return {html: nav.responseEnd, dom_ready: nav.domContentLoadedEventEnd, trend_start: trend.startTime,
          trend_end: trend.responseEnd, drawn: performance.now()};
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(state: Path) -> str:
    """The tenant, user, run and its day of history; returns the run id."""
    from appliance.api import create_app
    from appliance.services import identity, trends
    from appliance.store.db import transaction
    from appliance.store.open import open_db

    app = create_app({"server": {"state_dir": str(state)}, "ratelimit": {"enabled": False}})
    db = open_db(state)
    tenant = identity.create_tenant(db, "bench", credits=10_000)
    key = identity.create_key(db, tenant["id"], ["generate"])["api_key"]
    identity.create_user(db, tenant["id"], "bench@plant.example", PASSWORD, ["generate"])
    answer = app.test_client().post(
        "/v1/scada/runs", json={"plant": "water", "modbus": {"port": free_port()}}, headers={"X-API-Key": key}
    )
    assert answer.status_code == 202, answer.get_json()
    run_id = str(answer.get_json()["id"])
    from simulators.validation import format_ms

    names = [t["name"] for t in trends.plant_tags("water")]
    rollup = trends.MinuteRollup()
    with transaction(db):
        for i in range(DAY_S):
            values = {n: 2.0 + math.sin(i / 600 + k) + 0.05 * math.sin(i * 7.3) for k, n in enumerate(names)}
            attack = "A001" if DAY_S // 2 <= i < DAY_S // 2 + 900 else ""
            snapshot = {"timestamp": format_ms(START_MS + i * 1000), "values": values, "attack_id": attack}
            trends.record(db, run_id, names, snapshot, False, rollup)
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory(prefix="sealforge-ui-trend-") as tmp:
        state = Path(tmp) / "var"
        t0 = time.perf_counter()
        run_id = prepare(state)
        print(f"prepared {DAY_S:,} history rows in {time.perf_counter() - t0:.1f} s")
        from appliance.cli.release import release

        release(state)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = (Path(tmp) / "api.log").open("wb")
        api = subprocess.Popen(
            [str(ROOT / ".venv/bin/sealforge"), "api", "--host", "127.0.0.1", "--port", str(port), "--state-dir",
             str(state)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "SEALFORGE_SERVER_WORKERS": "1", "SEALFORGE_RATELIMIT_ENABLED": "false"},
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            measure(chromium, url, run_id, args.repeat)
        finally:
            api.terminate()
            api.wait(timeout=30)
            log.close()


def measure(chromium: str, url: str, run_id: str, repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    pens = "&".join(f"pen={p}" for p in PENS)
    page_url = f"{url}/plant/{run_id}/trends?{pens}&window={DAY_S}"
    start, end = START_MS / 1000, START_MS / 1000 + DAY_S - 1
    tags = ",".join(PENS)
    trend = f"/v1/scada/runs/{run_id}/trend?tags={tags}&start={start}&end={end}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "/login")
        page.get_by_label("Email").fill("bench@plant.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r"/$"))
        page_ms, dec_ms, raw_ms = [], [], []
        phases: list[dict[str, float]] = []
        points = (0, 0)
        for _ in range(repeat):
            t0 = time.perf_counter()
            page.goto(page_url)
            page.locator("#trends[data-loaded='1']").wait_for()
            page_ms.append((time.perf_counter() - t0) * 1000)
            phases.append(page.evaluate(PHASES))
            ms, n_dec = page.evaluate(DRAW, [trend, PENS, False])
            dec_ms.append(ms)
            ms, n_raw = page.evaluate(DRAW, [trend + "&format=csv", PENS, True])
            raw_ms.append(ms)
            points = (n_dec, n_raw)
        browser.close()
    med = statistics.median
    print(f"one day at 1 Hz, {len(PENS)} pens: {points[1]:,} samples per pen; decimated: {points[0]:,} per pen")
    print(f"page (navigate -> chart drawn):   median {med(page_ms):7.0f} ms  (budget 1000 ms)  runs {len(page_ms)}")
    for name in ("html", "dom_ready", "trend_start", "trend_end", "drawn"):
        print(f"  page {name:<12} at median {med(p[name] for p in phases):7.0f} ms after navigation start")
    print(f"decimated fetch + draw:           median {med(dec_ms):7.0f} ms")
    print(f"raw fetch + parse + draw (peer):  median {med(raw_ms):7.0f} ms")
    print(f"ratio raw / decimated: {med(raw_ms) / med(dec_ms):.1f}x")


if __name__ == "__main__":
    main()
