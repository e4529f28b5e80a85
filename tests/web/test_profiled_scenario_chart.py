"""A scenario written in the SWaT or HAI shape still draws: pens by their native names, values as written."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.conftest import auth
from tests.web.conftest import Users, session_client


@pytest.mark.parametrize(("profile", "column_scale"), [("swat", 1000.0), ("hai", 1.0)])
def test_profiled_scenario_series(app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any,
                                  profile: str, column_scale: float) -> None:
    client, _csrf = session_client(app, users["generate"])
    params = {"plant": "water", "duration": 3600, "profile": profile,
              "mix": [{"technique": "spoof_reporting_message", "targets": ["LIT101"]}]}
    created = client.post("/v1/jobs", json={"kind": "scenario_fabricate", "params": params, "seed": 1},
                          headers=auth(keys["generate"]))
    job_id = created.get_json()["id"]
    inline_jobs.finish(client, auth(keys["read"]), job_id)
    series = client.get(f"/generate/scenario/{job_id}/series?pen=LIT101&pen=LIC101.SP").get_json()
    assert len(series["t"]) == 2000  # 3600 rows cut to the chart's point budget
    assert series["t"][0] == 1704067200.0 and series["t"][1] - series["t"][0] > 0
    names = [p["name"] for p in series["pens"]]
    assert names[0] == "LIT101" and ("LIC101.SP" in names) == (profile == "hai")  # SWaT has no setpoints
    level = series["pens"][0]
    assert level["unit"] == ("mm" if profile == "swat" else "m")
    assert 0.5 * column_scale < max(v for v in level["values"] if v is not None) < 5.5 * column_scale
    assert series["attacks"][0]["targets"] == ["LIT101"]
