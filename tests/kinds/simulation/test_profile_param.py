"""`profile` on the simulate / scenario_fabricate kinds: the artifact takes the public set's file name and shape."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth


def test_scenario_job_in_swat_shape(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs) -> None:
    headers = auth(keys["generate"])
    params = {"plant": "water", "duration": 3600, "profile": "swat", "mix": [{"technique": "T0831", "count": 1}]}
    created = client.post("/v1/jobs", json={"kind": "scenario_fabricate", "params": params, "seed": 2},
                          headers=headers)
    assert created.status_code == 202, created.get_json()
    job = inline_jobs.finish(client, headers, created.get_json()["id"])
    arts = {a["name"]: a for a in client.get(f"/v1/artifacts?job_id={job['id']}", headers=headers).get_json()["data"]}
    assert set(arts) == {"water_Dataset_Attack.csv", "manifest.json"}
    assert arts["water_Dataset_Attack.csv"]["media_type"] == "text/csv"
    head = client.get(f"/v1/artifacts/{arts['water_Dataset_Attack.csv']['id']}/download", headers=headers).data[:40]
    assert head.startswith(b" Timestamp,LIT101,")


def test_bad_profile_is_400_naming_the_field(client: FlaskClient, keys: dict[str, str]) -> None:
    params = {"plant": "water", "duration": 60, "profile": "swat", "format": "parquet"}
    response = client.post("/v1/jobs", json={"kind": "simulate", "params": params}, headers=auth(keys["generate"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "params.format"


def test_the_api_names_the_simulators_profiles() -> None:
    from appliance.api.ics.routes import DATASET_PROFILES
    from simulators.profiles import PROFILES

    assert DATASET_PROFILES == PROFILES


def test_ics_scenarios_front_takes_a_profile(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"plant": "water", "duration": 3600, "mix": [{"technique": "T0831"}], "profile": "wadi"}
    response = client.post("/v1/ics/scenarios", json=body, headers=auth(keys["generate"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "profile"
