"""The plant pages and their API routes through the Flask test client: a run's pages, the trend
(decimated, CSV of the window), alarms (ack, shelve, history, CSV), the point map, and bad input
on every new route, in the page and in the API. The run here has no worker (it stays `starting`);
the browser tests drive a running plant."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from flask import Flask

from appliance.services import alarms, trends
from appliance.store.db import transaction
from tests.conftest import auth, free_port
from tests.web.conftest import Users, session_client


def _run(app: Flask, keys: dict[str, str], plant: str = "water") -> str:
    body = {"plant": plant, "modbus": {"port": free_port()}}
    answer = app.test_client().post("/v1/scada/runs", json=body, headers=auth(keys["generate"]))
    assert answer.status_code == 202, answer.get_json()
    return str(answer.get_json()["id"])


class _Phase(HTMLParser):
    """Which ``data-testid`` elements of a plant page show in the run's phase at load: those not
    inside (or being) an element marked ``data-when`` that is ``hidden`` (plant.js switches them
    when the values stream says the run's state changed)."""

    VOID = frozenset({"input", "br", "img", "meta", "link", "hr", "source", "col", "wbr", "area"})

    def __init__(self, page: str) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.shown: dict[str, bool] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        marks = dict(attrs)
        hidden = bool(self.stack and self.stack[-1][1]) or ("data-when" in marks and "hidden" in marks)
        if marks.get("data-testid"):
            self.shown[str(marks["data-testid"])] = not hidden
        if tag not in self.VOID:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return


def _shown(page: str) -> set[str]:
    return {name for name, shown in _Phase(page).shown.items() if shown}


def _history(db: Any, run_id: str, seconds: int, attack_from: int = 10**9) -> None:
    """History as a live run's worker writes it: a row a second and a rollup per minute."""
    names = [t["name"] for t in trends.plant_tags("water")]
    rollup = trends.MinuteRollup()
    with transaction(db):
        for i in range(seconds):
            values = {n: 1.0 for n in names}
            values["LIT101"] = 2.0 + (3.0 if i == seconds // 2 else 0.0)  # one spike
            stamp = f"2026-11-30T10:{i // 60:02d}:{i % 60:02d}.000Z"
            snap = {"timestamp": stamp, "values": values, "attack_id": "A1" if i >= attack_from else ""}
            trends.record(db, run_id, names, snap, False, rollup)


def _alarm(db: Any, tenant_id: str, run_id: str, tag: str = "P101.TRIP") -> str:
    with transaction(db):
        alarms.record(db, tenant_id, run_id, [{"tag": tag, "description": "trip", "state": "raised", "scan": 3}])
    return str(alarms.active(db, tenant_id, run_id)["data"][0]["id"])


def test_run_pages_render_with_write_controls_only_for_generate(app: Flask, users: Users, keys: dict[str, str]) -> None:
    run_id = _run(app, keys)
    reader, _ = session_client(app, users["read"])
    page = reader.get(f"/plant/{run_id}").get_data(as_text=True)
    assert 'data-testid="mimic"' in page and "T101" in page and f"/v1/scada/runs/{run_id}/values" in page
    assert 'data-testid="write-form"' not in page and 'data-testid="attack-form"' not in page
    assert 'data-testid="start-run"' not in reader.get("/plant").get_data(as_text=True)
    writer, _ = session_client(app, users["generate"])
    page = writer.get(f"/plant/{run_id}").get_data(as_text=True)
    assert 'data-testid="write-form"' in page and 'data-testid="attack-form"' in page
    assert 'data-testid="start-run"' in writer.get("/plant").get_data(as_text=True)
    for plant in ("chemical", "power"):
        other = _run(app, keys, plant)
        assert 'data-testid="mimic"' in reader.get(f"/plant/{other}").get_data(as_text=True)


def test_start_form_refuses_bad_input_and_scope(app: Flask, users: Users, keys: dict[str, str]) -> None:
    writer, token = session_client(app, users["generate"])
    for form, field in (
        ({"plant": "boiler", "modbus_port": "5020"}, "plant"),
        ({"plant": "water", "modbus_port": "70000"}, "modbus_port"),
        ({"plant": "water", "modbus_port": "abc"}, "modbus_port"),
        ({"plant": "water", "modbus_port": str(free_port()), "speed": "fast"}, "speed"),
        ({"plant": "water", "modbus_port": str(free_port()), "duration": "0"}, "duration"),
        ({"plant": "water"}, "modbus"),
    ):
        answer = writer.post("/plant/start", data={**form, "csrf_token": token})
        assert answer.status_code == 400 and field in answer.get_data(as_text=True), form
    assert writer.post("/plant/start", data={"plant": "water", "modbus_port": "5020"}).status_code == 403  # no CSRF
    reader, rtoken = session_client(app, users["read"])
    refused = reader.post("/plant/start", data={"plant": "water", "modbus_port": "5020", "csrf_token": rtoken})
    assert refused.status_code == 403 and "INSUFFICIENT_SCOPE" in refused.get_data(as_text=True)
    started = writer.post("/plant/start", data={"plant": "water", "modbus_port": str(free_port()), "csrf_token": token})
    assert started.status_code == 303 and "/plant/run_" in started.headers["Location"]
    run_id = started.headers["Location"].rsplit("/", 1)[1]
    assert reader.post(f"/plant/{run_id}/stop", data={"csrf_token": rtoken}).status_code == 403
    assert writer.post(f"/plant/{run_id}/stop", data={"csrf_token": token}).status_code == 303
    assert writer.post(f"/plant/{run_id}/stop", data={"csrf_token": token}).status_code == 409  # ended
    assert writer.post("/plant/run_nope/stop", data={"csrf_token": token}).status_code == 404


def test_setpoint_write_refuses_bad_tags_and_values_before_the_plant(app: Flask, keys: dict[str, str]) -> None:
    run_id = _run(app, keys)
    client = app.test_client()
    url = f"/v1/scada/runs/{run_id}/writes"
    for body, field in (
        ({"tag": "LIC101.SP", "value": 9.5}, "value"),  # range 0.5..5 m
        ({"tag": "LIC101.SP", "value": "high"}, "value"),
        ({"tag": "LIC101.AUTO", "value": 2}, "value"),
        ({"tag": "LIT101", "value": 1.0}, "tag"),  # a sensor
        ({"tag": "NOPE", "value": 1.0}, "tag"),
        ({"value": 1.0}, "tag"),
        ({"tag": "LIC101.SP"}, "value"),
    ):
        answer = client.post(url, json=body, headers=auth(keys["generate"]))
        assert answer.status_code == 400, body
        assert answer.get_json()["error"]["details"][0]["field"] == field, body
    assert client.post(url, json={"tag": "LIC101.SP", "value": 3.0}, headers=auth(keys["read"])).status_code == 403
    not_yet = client.post(url, json={"tag": "LIC101.SP", "value": 3.0}, headers=auth(keys["generate"]))
    assert not_yet.status_code == 409  # the run has no worker: still starting
    gone = client.post(
        "/v1/scada/runs/run_nope/writes", json={"tag": "LIC101.SP", "value": 3}, headers=auth(keys["generate"])
    )
    assert gone.status_code == 404


def test_trend_is_decimated_min_max_with_bands_and_csv_of_the_window(
    app: Flask, db: Any, users: Users, keys: dict[str, str]
) -> None:
    run_id = _run(app, keys)
    _history(db, run_id, 3000, attack_from=2900)
    client = app.test_client()
    start, end = 1796032800, 1796032800 + 2999  # 2026-11-30T10:00:00Z
    url = f"/v1/scada/runs/{run_id}/trend?tags=LIT101,FIT101&start={start}&end={end}"
    view = client.get(url, headers=auth(keys["read"])).get_json()
    # over 2,000 s: 49 finished minutes from their rollups, then the last 60 raw seconds
    assert view["rollup"] and view["samples"] == 3000 and view["decimated"] and len(view["t"]) <= 2000
    assert max(view["series"]["LIT101"]) == 5.0 and min(view["series"]["LIT101"]) == 2.0  # the spike survives
    assert view["t"] == sorted(view["t"])
    assert view["bands"] == [{"start": start + 2880, "end": end, "label": "A1"}]  # whole minutes on the left
    short_url = url.replace(f"end={end}", f"end={start + 1999}") + "&points=500"
    short = client.get(short_url, headers=auth(keys["read"])).get_json()
    assert not short["rollup"] and short["samples"] == 2000 and short["decimated"] and len(short["t"]) == 500
    assert max(short["series"]["LIT101"]) == 5.0 and short["bands"] == []
    csv_text = client.get(url + "&format=csv", headers=auth(keys["read"])).get_data(as_text=True)
    lines = csv_text.splitlines()
    assert lines[0] == "timestamp,LIT101,FIT101,attacks" and len(lines) == 3001
    latest = client.get(f"/v1/scada/runs/{run_id}/trend?tags=LIT101&last=60", headers=auth(keys["read"])).get_json()
    assert latest["samples"] == 61 and latest["end"] == end  # the last minute held
    narrow = client.get(url.replace(f"end={end}", f"end={start + 9}") + "&format=csv", headers=auth(keys["read"]))
    assert len(narrow.get_data(as_text=True).splitlines()) == 11  # exactly the window asked for
    for query, field in (
        ("tags=", "tags"),
        ("tags=NOPE", "tags"),
        ("tags=" + ",".join(["LIT101"] * 9), "tags"),
        (f"tags=LIT101&start={end}&end={start}", "start"),
        (f"tags=LIT101&start={start}&end={start + 2 * 86400}", "end"),
        ("tags=LIT101&points=1", "points"),
        ("tags=LIT101&start=soon", "start"),
        ("tags=LIT101&format=xml", "format"),
        ("tags=LIT101&last=0", "last"),
    ):
        answer = client.get(f"/v1/scada/runs/{run_id}/trend?{query}", headers=auth(keys["read"]))
        assert answer.status_code == 400, query
        assert answer.get_json()["error"]["details"][0]["field"] == field, query
    assert client.get("/v1/scada/runs/run_nope/trend?tags=LIT101", headers=auth(keys["read"])).status_code == 404
    reader, _ = session_client(app, users["read"])
    assert 'data-testid="trend-chart"' in reader.get(f"/plant/{run_id}/trends?pen=LIT101").get_data(as_text=True)
    assert reader.get(f"/plant/{run_id}/trends?pen=NOPE").status_code == 400
    assert reader.get(f"/plant/{run_id}/trends?window=5").status_code == 400


def test_alarms_ack_shelve_history_and_csv_in_api_and_page(
    app: Flask, db: Any, tenant: dict[str, Any], users: Users, keys: dict[str, str]
) -> None:
    run_id = _run(app, keys)
    first = _alarm(db, tenant["id"], run_id, "LIT101.HI")
    urgent = _alarm(db, tenant["id"], run_id, "P101.TRIP")
    client = app.test_client()
    active = client.get(f"/v1/scada/alarms/active?run_id={run_id}", headers=auth(keys["read"])).get_json()
    assert [a["tag"] for a in active["data"]] == ["P101.TRIP", "LIT101.HI"]  # by priority
    assert active["data"][0]["id"] == urgent and active["data"][0]["priority_name"] == "urgent"
    acked = client.post(f"/v1/scada/alarms/{first}/ack", json={"note": "seen"}, headers=auth(keys["generate"]))
    assert acked.status_code == 200 and acked.get_json()["state"] == "active_acked"
    again = client.post(f"/v1/scada/alarms/{first}/ack", json={}, headers=auth(keys["generate"]))
    assert again.status_code == 409
    for url, body, field in (
        (f"/v1/scada/alarms/{urgent}/ack", {"note": "x" * 501}, "note"),
        (f"/v1/scada/alarms/{urgent}/shelve", {"minutes": 481}, "minutes"),
        (f"/v1/scada/alarms/{urgent}/shelve", {"minutes": "soon"}, "minutes"),
        (f"/v1/scada/alarms/{urgent}/shelve", {}, "minutes"),
    ):
        answer = client.post(url, json=body, headers=auth(keys["generate"]))
        assert answer.status_code == 400 and answer.get_json()["error"]["details"][0]["field"] == field, body
    assert client.post(f"/v1/scada/alarms/{urgent}/ack", json={}, headers=auth(keys["read"])).status_code == 403
    assert client.post("/v1/scada/alarms/alm_nope/ack", json={}, headers=auth(keys["generate"])).status_code == 404
    for query in ("priority=4", "limit=0", "format=xml", "since=" + "9" * 41):
        assert client.get(f"/v1/scada/alarms?{query}", headers=auth(keys["read"])).status_code == 400, query

    writer, token = session_client(app, users["generate"])
    page = writer.get("/alarms").get_data(as_text=True)
    assert 'data-testid="active-alarms"' in page and "P101.TRIP" in page
    assert writer.post(f"/alarms/{urgent}/ack", data={"note": "x" * 501, "csrf_token": token}).status_code == 400
    assert writer.post(f"/alarms/{urgent}/shelve", data={"minutes": "abc", "csrf_token": token}).status_code == 400
    assert writer.post(f"/alarms/{urgent}/ack", data={"note": "pump checked"}).status_code == 403  # no CSRF
    assert writer.post(f"/alarms/{urgent}/ack", data={"note": "pump checked", "csrf_token": token}).status_code == 303
    shelved = writer.post(f"/alarms/{first}/shelve", data={"minutes": "15", "csrf_token": token})
    assert shelved.status_code == 303
    after = client.get(f"/v1/scada/alarms/active?run_id={run_id}", headers=auth(keys["read"])).get_json()
    assert [a["tag"] for a in after["shelved"]] == ["LIT101.HI"]
    assert writer.get("/alarms?priority=9").status_code == 400
    assert writer.get("/alarms?run_id=" + "r" * 65).status_code == 400
    csv_text = writer.get(f"/alarms?format=csv&run_id={run_id}&priority=1").get_data(as_text=True)
    lines = csv_text.splitlines()
    assert lines[0].startswith("id,run_id,tag") and len(lines) == 2 and "pump checked" in lines[1]
    assert client.get("/v1/scada/alarms?format=csv", headers=auth(keys["read"])).get_data(as_text=True) == (
        writer.get("/alarms?format=csv").get_data(as_text=True)
    )
    reader, rtoken = session_client(app, users["read"])
    assert "Ack</button>" not in reader.get("/alarms").get_data(as_text=True)
    assert alarms.active_counts(db, tenant["id"]) == {run_id: 2}  # one acknowledged but still in alarm
    assert 'data-testid="run-alarms">2</a>' in reader.get("/overview/live").get_data(as_text=True)
    assert client.get("/v1/scada/alarms/active?run_id=" + "r" * 65, headers=auth(keys["read"])).status_code == 400
    assert reader.post(f"/alarms/{urgent}/shelve", data={"minutes": "15", "csrf_token": rtoken}).status_code == 403


def test_point_map_lists_points_nodes_and_mbpoll_lines(app: Flask, users: Users, keys: dict[str, str]) -> None:
    body = {"plant": "water", "modbus": {"port": free_port(), "unit_id": 7}, "opcua": {"port": free_port()}}
    run_id = app.test_client().post("/v1/scada/runs", json=body, headers=auth(keys["generate"])).get_json()["id"]
    reader, _ = session_client(app, users["read"])
    page = reader.get(f"/plant/{run_id}/points").get_data(as_text=True)
    assert "mbpoll -m tcp -a 7 -p " in page and "-t 4:float -B -r 1000" in page and "ns=2;s=LIT101" in page
    mapped = json.loads(reader.get(f"/plant/{run_id}/points?format=json").get_data(as_text=True))
    setpoint = next(p for p in mapped["modbus"]["points"] if p["tag"] == "LIC101.SP" and p["type"] == "uint16")
    assert setpoint["number"] == "40001" and setpoint["read_fc"] == "03" and setpoint["access"] == "R"  # no writes
    csv_lines = reader.get(f"/plant/{run_id}/points?format=csv&protocol=opcua").get_data(as_text=True).splitlines()
    assert csv_lines[0].startswith("tag,node_id") and len(csv_lines) == len(mapped["opcua"]["nodes"]) + 1
    assert reader.get(f"/plant/{run_id}/points?format=pdf").status_code == 400
    assert reader.get(f"/plant/{run_id}/points?format=csv&protocol=bacnet").status_code == 400
    assert reader.get("/plant/run_nope/points").status_code == 404


def test_another_tenant_gets_404_for_a_run_its_alarms_and_pages(
    app: Flask, db: Any, tenant: dict[str, Any], users: Users, keys: dict[str, str]
) -> None:
    from appliance.services import identity

    run_id = _run(app, keys)
    alarm_id = _alarm(db, tenant["id"], run_id)
    other = identity.create_tenant(db, "elsewhere", credits=10)
    stranger = auth(identity.create_key(db, other["id"], ["generate"])["api_key"])
    client = app.test_client()
    assert client.get(f"/v1/scada/runs/{run_id}/trend?tags=LIT101", headers=stranger).status_code == 404
    assert client.post(f"/v1/scada/alarms/{alarm_id}/ack", json={}, headers=stranger).status_code == 404
    assert client.post(f"/v1/scada/alarms/{alarm_id}/shelve", json={"minutes": 5}, headers=stranger).status_code == 404
    assert client.get("/v1/scada/alarms", headers=stranger).get_json()["data"] == []
    write = {"tag": "LIC101.SP", "value": 3.0}
    assert client.post(f"/v1/scada/runs/{run_id}/writes", json=write, headers=stranger).status_code == 404
    reader, _ = session_client(app, users["read"])
    for path in ("/plant/run_nope", "/plant/run_nope/trends", "/plant/run_nope/points"):
        assert reader.get(path).status_code == 404, path


def test_history_of_a_run_ended_over_a_day_ago_is_pruned(app: Flask, db: Any, keys: dict[str, str]) -> None:
    ended, live = _run(app, keys), _run(app, keys)
    _history(db, ended, 120)
    _history(db, live, 120)
    client = app.test_client()
    assert client.post(f"/v1/scada/runs/{ended}/stop", headers=auth(keys["generate"])).status_code == 202
    assert trends.prune(db) == 0  # ended just now: kept for a day
    with transaction(db):
        job_id = client.get(f"/v1/scada/runs/{ended}", headers=auth(keys["read"])).get_json()["job_id"]
        db.execute("UPDATE jobs SET finished_at = '2026-01-01T00:00:00.000Z' WHERE id = ?", (job_id,))
    assert trends.prune(db) == 120
    url = "/v1/scada/runs/{}/trend?tags=LIT101&last=600"
    assert client.get(url.format(ended), headers=auth(keys["read"])).get_json()["samples"] == 0
    assert client.get(url.format(live), headers=auth(keys["read"])).get_json()["samples"] == 120


def test_pause_and_resume_forms_refuse_scope_csrf_and_bad_transitions(
    app: Flask, db: Any, users: Users, keys: dict[str, str]
) -> None:
    run_id = _run(app, keys)  # no worker: it stays `starting`
    writer, token = session_client(app, users["generate"])
    reader, rtoken = session_client(app, users["read"])
    for verb in ("pause", "resume"):
        assert writer.post(f"/plant/{run_id}/{verb}").status_code == 403  # no CSRF token
        refused = reader.post(f"/plant/{run_id}/{verb}", data={"csrf_token": rtoken})
        assert refused.status_code == 403 and "INSUFFICIENT_SCOPE" in refused.get_data(as_text=True)
        early = writer.post(f"/plant/{run_id}/{verb}", data={"csrf_token": token})
        assert early.status_code == 409 and "LIVE_RUN_STATE" in early.get_data(as_text=True)
        assert writer.post(f"/plant/run_nope/{verb}", data={"csrf_token": token}).status_code == 404
    shown = _shown(writer.get(f"/plant/{run_id}").get_data(as_text=True))
    assert "pause-run" not in shown and "resume-run" not in shown and "stop-run" in shown  # not running yet


def test_a_paused_run_shows_its_state_and_clients_and_no_write_controls(
    app: Flask, db: Any, users: Users, keys: dict[str, str]
) -> None:
    """The state a worker records for a paused run with clients (the browser tests drive a real one)."""
    run_id = _run(app, keys)
    with transaction(db):
        db.execute(
            "UPDATE jobs SET status = 'running' WHERE id = (SELECT job_id FROM scada_runs WHERE id = ?)", (run_id,)
        )
        db.execute("UPDATE scada_endpoints SET state = 'accepting', clients = 2 WHERE run_id = ?", (run_id,))
    writer, _ = session_client(app, users["generate"])
    page = writer.get(f"/plant/{run_id}").get_data(as_text=True)
    assert {"pause-run", "write-form", "attack-form", "stop-run"} <= _shown(page)
    assert not {"resume-run", "paused-note", "ended-note"} & _shown(page)
    assert 'data-testid="clients-modbus" data-clients>2</b> <span data-clients-word>clients</span>' in page
    with transaction(db):
        db.execute("UPDATE scada_runs SET paused_at = '2026-12-01T02:00:00.000Z' WHERE id = ?", (run_id,))
    page = writer.get(f"/plant/{run_id}").get_data(as_text=True)
    # paused: every control is drawn (the page may be resumed live) and only these show
    assert {"resume-run", "paused-note", "stop-run"} <= _shown(page)
    assert 'data-testid="write-form"' in page and 'data-testid="attack-form"' in page
    assert not {"pause-run", "write-form", "attack-form", "ended-note"} & _shown(page)
    overview = writer.get("/").get_data(as_text=True)
    assert "state-paused" in overview and 'data-clients="modbus">2</b> clients' in overview
    reader, _ = session_client(app, users["read"])
    page = reader.get(f"/plant/{run_id}").get_data(as_text=True)
    assert 'data-testid="resume-run"' not in page and 'data-testid="pause-run"' not in page
    with transaction(db):
        db.execute(
            "UPDATE jobs SET status = 'succeeded' WHERE id = (SELECT job_id FROM scada_runs WHERE id = ?)", (run_id,)
        )
    page = writer.get(f"/plant/{run_id}").get_data(as_text=True)
    assert "ended-note" in _shown(page) and 'id="ended-status">stopped</b>' in page
    for control in ("stop-run", "pause-run", "resume-run", "write-form", "attack-form", "paused-note"):
        assert f'data-testid="{control}"' not in page
