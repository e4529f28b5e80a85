"""/v1/connectors with the appliance's own Modbus simulator as the source: a register map recorded
into a dataset, a recording canceled mid-way by a real worker, and the bad inputs of a source."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulators.protocols.modbus import ModbusPlantServer
from simulators.protocols.register_map import HOLDING
from tests.conftest import InlineJobs, auth, wait_for
from tests.simulators.protocols.conftest import LoopThread, water_plant


@pytest.fixture(scope="module")
def plc() -> Iterator[ModbusPlantServer]:
    loop = LoopThread()
    server = ModbusPlantServer(water_plant(), port=0, unit_id=1)
    loop.run(server.start())
    yield server
    loop.run(server.stop())
    loop.close()


def _points(server: ModbusPlantServer) -> list[dict[str, Any]]:
    chosen = [p for p in server.register_map.tables[HOLDING].points if p.encoding == "float32"][:3]
    return [{"name": p.tag, "address": p.address, "encoding": "float32"} for p in chosen]


def _connector(client: FlaskClient, keys: dict[str, str], server: ModbusPlantServer) -> str:
    made = client.post(
        "/v1/connectors",
        json={"name": "plc", "type": "modbus", "settings": {"host": "127.0.0.1", "port": server.port}},
        headers=auth(keys["admin"]),
    )
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["id"])


def test_record_register_map(
    client: FlaskClient, keys: dict[str, str], plc: ModbusPlantServer, inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, plc)
    assert client.post(f"/v1/connectors/{con}/test", headers=gen).get_json()["ok"]
    body = {"source": {"points": _points(plc), "interval_s": 0.05, "samples": 6}, "name": "water-levels"}
    job = inline_jobs.finish(
        client, gen, client.post(f"/v1/connectors/{con}/import", json=body, headers=gen).get_json()["id"]
    )
    dataset = client.get(f"/v1/datasets/{job['result']['dataset_id']}", headers=gen).get_json()
    assert dataset["rows"] == 6
    assert [c["name"] for c in dataset["columns"]] == ["time", *(p["name"] for p in _points(plc))]


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({"points": []}, "source.points"),
        ({"points": [{"name": "a"}]}, "source.points.0.address"),
        ({"points": [{"name": "a", "address": 1, "encoding": "bool"}]}, "source.points.0.encoding"),
        ({"points": [{"name": "a", "address": 1}], "interval_s": 0}, "source.interval_s"),
        ({"points": [{"name": "a", "address": 1}, {"name": "a", "address": 2}]}, "source.points"),
    ],
)
def test_bad_sources(
    client: FlaskClient, keys: dict[str, str], plc: ModbusPlantServer, source: dict[str, Any], field: str
) -> None:
    con = _connector(client, keys, plc)
    answer = client.post(f"/v1/connectors/{con}/import", json={"source": source}, headers=auth(keys["generate"]))
    assert answer.status_code == 400 and field in [d["field"] for d in answer.get_json()["error"]["details"]]


def test_source_only(client: FlaskClient, keys: dict[str, str], plc: ModbusPlantServer) -> None:
    con = _connector(client, keys, plc)
    answer = client.post(
        f"/v1/connectors/{con}/deliver",
        json={"job_id": "job_" + "0" * 26, "target": {}},
        headers=auth(keys["generate"]),
    )
    assert answer.status_code == 400 and answer.get_json()["error"]["details"][0]["field"] == "target"


def test_cancel_mid_recording(
    client: FlaskClient, keys: dict[str, str], plc: ModbusPlantServer, start_worker: Any
) -> None:
    gen = auth(keys["generate"])
    con = _connector(client, keys, plc)
    start_worker("default")
    body = {"source": {"points": _points(plc), "interval_s": 0.1, "samples": 100_000}}
    job_id = client.post(f"/v1/connectors/{con}/import", json=body, headers=gen).get_json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{job_id}", headers=gen).get_json()["status"] != "running":
        assert time.monotonic() < deadline, "the recording never started"
        time.sleep(0.2)
    time.sleep(1.0)
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=gen).status_code == 200
    done = wait_for(client, gen, job_id, {"canceled", "succeeded", "failed"})
    assert done["status"] == "canceled", done
    assert client.get("/v1/datasets", headers=gen).get_json()["count"] == 0
