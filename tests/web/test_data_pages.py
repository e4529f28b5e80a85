"""The datasets and generate pages through the Flask test client: what they show from the
services, the jobs behind their buttons, their answers to bad input, and their scope refusals."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask

from tests.conftest import auth, mock_schema
from tests.web.conftest import Users, session_client

CSV = "id,flow,site\n" + "".join(f"{i},{10 + (i % 7) * 0.5},{'abc'[i % 3]}\n" for i in range(60))


def _upload(app: Flask, keys: dict[str, str], text: str = CSV, name: str = "plant.csv") -> str:
    answer = app.test_client().post(
        f"/v1/datasets?name={name}", data=text.encode(), headers={**auth(keys["generate"]), "Content-Type": "text/csv"}
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return str(answer.get_json()["id"])


def test_a_dataset_page_shows_rows_then_its_profile_with_a_chart_per_column(
    app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any
) -> None:
    dataset_id = _upload(app, keys)
    client, _ = session_client(app, users["read"])
    listing = client.get("/datasets").get_data(as_text=True)
    assert dataset_id in listing and "plant.csv" in listing
    assert 'data-testid="dropzone"' not in listing  # read only: no upload box
    first = client.get(f"/datasets/{dataset_id}").get_data(as_text=True)
    assert 'data-testid="preview"' in first and "<td>abc</td>" not in first and "<td>a</td>" in first
    assert 'data-testid="profile-pending"' in first and "data-await-job=" in first  # an analyze job started
    assert 'data-testid="delete-dataset"' not in first
    inline_jobs.drain()
    profile = client.get(f"/datasets/{dataset_id}/profile").get_data(as_text=True)
    assert "<html" not in profile and profile.count('data-testid="profile-column"') == 3
    assert profile.count('data-testid="column-chart"') == 3
    assert "Distribution of flow" in profile and "Most frequent values of site" in profile
    again = client.get(f"/datasets/{dataset_id}").get_data(as_text=True)
    assert "Distribution of flow" in again and "profile-pending" not in again


def test_dataset_pages_refuse_bad_input_and_other_tenants(app: Flask, users: Users, keys: dict[str, str]) -> None:
    client, _ = session_client(app, users["read"])
    assert client.get("/datasets?after=" + "x" * 65).status_code == 400
    assert client.get("/datasets/ds_01JD0000000000000000000000").status_code == 404
    assert client.get("/datasets/ds_01JD0000000000000000000000/profile").status_code == 404


def test_delete_needs_generate_and_the_csrf_token(app: Flask, users: Users, keys: dict[str, str]) -> None:
    dataset_id = _upload(app, keys)
    reader, token = session_client(app, users["read"])
    assert reader.post(f"/datasets/{dataset_id}/delete", data={"csrf_token": token}).status_code == 403
    client, csrf = session_client(app, users["generate"])
    page = client.get("/datasets").get_data(as_text=True)
    assert 'data-testid="dropzone"' in page and 'data-upload="/v1/datasets"' in page
    assert client.post(f"/datasets/{dataset_id}/delete", data={}).status_code == 403  # no CSRF token
    done = client.post(f"/datasets/{dataset_id}/delete", data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["Location"].endswith("/datasets")
    assert client.get(f"/datasets/{dataset_id}").status_code == 404
    assert client.post(f"/datasets/{dataset_id}/delete", data={"csrf_token": csrf}).status_code == 404


def test_the_upload_the_page_makes_is_the_apis_with_the_cookie(app: Flask, users: Users) -> None:
    client, csrf = session_client(app, users["generate"])
    headers = {"Content-Type": "text/csv"}
    refused = client.post("/v1/datasets?name=x.csv", data=CSV.encode(), headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "CSRF_TOKEN_INVALID"
    sent = client.post("/v1/datasets?name=x.csv", data=CSV.encode(), headers={**headers, "X-CSRF-Token": csrf})
    assert sent.status_code == 201 and sent.get_json()["rows"] == 60


def test_mock_from_a_sentence_plan_edit_preview_run(
    app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any
) -> None:
    client, csrf = session_client(app, users["generate"])
    form = client.get("/generate/mock").get_data(as_text=True)
    assert 'data-testid="schema"' in form and "readings" in form  # the example schema to start from
    sentence = "200 sensor readings with temperature, pressure and site"
    plan = client.post("/generate/mock/plan", data={"csrf_token": csrf, "description": sentence, "seed": "3"})
    text = plan.get_data(as_text=True)
    assert plan.status_code == 200 and "<html" not in text
    assert 'data-testid="plan-warnings"' in text and "unknown attribute" in text
    schema_text = re.search(r'data-testid="schema">([^<]*)</textarea>', text)
    assert schema_text
    schema = json.loads(schema_text.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    schema["tables"][0]["rows"] = 25  # the edit
    edited = json.dumps(schema)
    sample = client.post("/generate/mock/preview", data={"csrf_token": csrf, "schema": edited, "seed": "3"})
    assert sample.status_code == 200 and "temperature" in sample.get_data(as_text=True)
    run = client.post(
        "/generate/mock",
        data={"csrf_token": csrf, "schema": edited, "seed": "3", "format": "csv", "description": sentence},
    )
    assert run.status_code == 303
    job_id = run.headers["Location"].rsplit("/", 1)[1]
    job = inline_jobs.finish(client, auth(keys["read"]), job_id)
    assert job["rows"] == 25
    assert job["params"]["description"] == sentence and job["params"]["plan"]["schema"]["tables"][0]["rows"] == 25
    assert job["seed"] == 3  # the contract seals the sentence and the schema as edited


def _column_form(columns: list[tuple[str, str, str, str]], **extra: str) -> dict[str, Any]:
    return {
        "col_name": [c[0] for c in columns], "col_type": [c[1] for c in columns],
        "col_generator": [c[2] for c in columns], "col_params": [c[3] for c in columns], **extra,
    }


def test_a_column_form_becomes_the_schema_in_the_editor(app: Flask, users: Users) -> None:
    client, csrf = session_client(app, users["read"])
    form = client.get("/generate/mock").get_data(as_text=True)
    assert 'data-testid="column-form"' in form and "normal (mean, std" in form
    rows = [
        ("id", "int", "sequence", ""),
        ("flow", "float", "normal", "mean=10, std=2.5"),
        ("site", "string", "category", "categories=north|south"),
        ("", "string", "words", ""),  # a row left empty is skipped
    ]
    sent = {"csrf_token": csrf, **_column_form(rows, table="tank", rows="40")}
    answer = client.post("/generate/mock/form", data=sent)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'data-testid="schema"' in text and "<html" not in text
    assert "north" in text and "south" in text
    assert '&#34;std&#34;: 2.5' in text and '&#34;rows&#34;: 40' in text and '&#34;name&#34;: &#34;tank&#34;' in text


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([("flow", "float", "normal", "mean 10")], "col_params[0]"),
        ([("flow", "float", "normal", "std=2")], "mean"),  # the engine names what is missing
        ([("flow", "float", "teleport", "")], "generator"),
        ([("", "string", "words", "")], "col_name"),
    ],
)
def test_the_column_form_refuses_bad_columns(
    app: Flask, users: Users, rows: list[tuple[str, str, str, str]], field: str
) -> None:
    client, csrf = session_client(app, users["read"])
    answer = client.post("/generate/mock/form", data={"csrf_token": csrf, **_column_form(rows)})
    assert answer.status_code == 400 and field in answer.get_data(as_text=True)
    uneven = client.post("/generate/mock/form", data={"csrf_token": csrf, "col_name": ["a", "b"], "col_type": "int"})
    assert uneven.status_code == 400


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/generate/mock/plan", {"description": "x"}, "description"),
        ("/generate/mock/plan", {"description": "some readings", "seed": "-1"}, "seed"),
        ("/generate/mock/preview", {"schema": "{not json"}, "schema"),
        ("/generate/mock/preview", {"schema": "[1]"}, "schema"),
        ("/generate/mock/preview", {"schema": '{"tables": [{"name": "t", "rows": 1, "columns": []}]}'}, "schema"),
        ("/generate/mock", {"schema": json.dumps(mock_schema(5)), "format": "xlsx"}, "format"),
        ("/generate/mock", {"schema": ""}, "schema"),
        ("/generate/scenario", {"plant": "steelworks"}, "plant"),
        ("/generate/scenario", {"plant": "water", "duration": "soon"}, "duration"),
        ("/generate/scenario", {"plant": "water", "duration": "nan"}, "duration"),
        ("/generate/scenario", {"plant": "water", "count_replay": "-1"}, "count_replay"),
        ("/generate/scenario", {"plant": "water", "duration": "60", "count_replay": "3"}, "mix"),
        ("/generate/synthesize", {}, "dataset"),
        ("/generate/synthesize", {"dataset": "ds_01JD0000000000000000000000", "synthesizer": "magic"}, None),
    ],
)
def test_generate_forms_refuse_bad_input(
    app: Flask, users: Users, path: str, form: dict[str, str], field: str | None
) -> None:
    client, csrf = session_client(app, users["generate"])
    answer = client.post(path, data={"csrf_token": csrf, **form})
    text = answer.get_data(as_text=True)
    assert answer.status_code in (400, 404), text
    if field is not None:
        assert answer.status_code == 400 and field in text


def test_a_read_user_plans_but_cannot_run(app: Flask, users: Users) -> None:
    client, csrf = session_client(app, users["read"])
    form = client.get("/generate/mock").get_data(as_text=True)
    assert 'data-testid="run-mock"' not in form and 'data-testid="preview"' in form
    plan = client.post("/generate/mock/plan", data={"csrf_token": csrf, "description": "50 orders with price"})
    assert plan.status_code == 200
    schema = json.dumps(mock_schema(5))
    for path, form_data in (
        ("/generate/mock", {"schema": schema}),
        ("/generate/scenario", {"plant": "water"}),
        ("/generate/synthesize", {"dataset": "ds_01JD0000000000000000000000"}),
    ):
        refused = client.post(path, data={"csrf_token": csrf, **form_data})
        assert refused.status_code == 403 and "INSUFFICIENT_SCOPE" in refused.get_data(as_text=True)
    assert 'data-testid="run-scenario"' not in client.get("/generate/scenario").get_data(as_text=True)


def test_a_scenario_result_draws_its_attack_windows(
    app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any
) -> None:
    client, csrf = session_client(app, users["generate"])
    form = client.get("/generate/scenario").get_data(as_text=True)
    assert "Manipulation of View" in form and 'name="count_manipulation_of_view"' in form
    run = client.post(
        "/generate/scenario",
        data={"csrf_token": csrf, "plant": "water", "duration": "1800", "count_manipulation_of_view": "2", "seed": "1"},
    )
    assert run.status_code == 303 and "/generate/scenario/job_" in run.headers["Location"]
    job_id = run.headers["Location"].rsplit("/", 1)[1]
    waiting = client.get(f"/generate/scenario/{job_id}").get_data(as_text=True)
    assert 'data-testid="awaiting"' in waiting and "data-reload" in waiting
    assert client.get(f"/generate/scenario/{job_id}/series").status_code == 409  # nothing to draw yet
    inline_jobs.finish(client, auth(keys["read"]), job_id)
    page = client.get(f"/generate/scenario/{job_id}").get_data(as_text=True)
    assert 'data-testid="trend"' in page and page.count("data-attack=") == 2 and "uPlot-1.6.32.iife.min.js" in page
    series = client.get(f"/generate/scenario/{job_id}/series").get_json()
    assert len(series["t"]) == 1800 and series["pens"][0]["name"] in series["attacks"][0]["targets"]  # attacked first
    assert [a["id"] for a in series["attacks"]] == ["A001", "A002"]
    assert all(series["t"][0] <= a["start"] < a["end"] <= series["t"][-1] + 1 for a in series["attacks"])
    picked = client.get(f"/generate/scenario/{job_id}/series?pen=FIT101&pen=LIT102").get_json()
    assert [p["name"] for p in picked["pens"]] == ["FIT101", "LIT102"]
    assert client.get(f"/generate/scenario/{job_id}/series?pen=nope").status_code == 400
    assert client.get(f"/generate/scenario/{job_id}/series?" + "&".join(["pen=LIT101"] * 9)).status_code == 400
    body = {"kind": "mock", "params": {"schema": mock_schema(5)}}
    mock_id = client.post("/v1/jobs", json=body, headers=auth(keys["generate"])).get_json()["id"]
    assert client.get(f"/generate/scenario/{mock_id}").status_code == 404  # not a scenario
    assert client.get("/generate/synthesize/" + job_id).status_code == 404


def test_a_scenario_with_no_attack_is_a_normal_run(
    app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any
) -> None:
    """The form's defaults (every count 0) run normal operation instead of being refused."""
    client, csrf = session_client(app, users["generate"])
    run = client.post("/generate/scenario", data={"csrf_token": csrf, "plant": "water", "duration": "600", "seed": "3"})
    assert run.status_code == 303, run.get_data(as_text=True)
    job_id = run.headers["Location"].rsplit("/", 1)[1]
    job = client.get(f"/v1/jobs/{job_id}", headers=auth(keys["read"])).get_json()
    assert job["kind"] == "simulate" and "mix" not in job["params"]
    inline_jobs.finish(client, auth(keys["read"]), job_id)
    series = client.get(f"/generate/scenario/{job_id}/series").get_json()
    assert len(series["t"]) == 600 and series["attacks"] == []


def test_train_and_synthesize_shows_the_report_as_charts(
    app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any
) -> None:
    dataset_id = _upload(app, keys)
    client, csrf = session_client(app, users["generate"])
    form = client.get(f"/generate/synthesize?dataset={dataset_id}").get_data(as_text=True)
    assert f'<option value="{dataset_id}" selected>' in form
    run = client.post(
        "/generate/synthesize",
        data={"csrf_token": csrf, "dataset": dataset_id, "synthesizer": "gaussian_copula", "rows": "80"},
    )
    assert run.status_code == 303
    job_id = run.headers["Location"].rsplit("/", 1)[1]
    assert 'data-testid="awaiting"' in client.get(f"/generate/synthesize/{job_id}").get_data(as_text=True)
    inline_jobs.finish(client, auth(keys["read"]), job_id)
    page = client.get(f"/generate/synthesize/{job_id}").get_data(as_text=True)
    assert 'data-testid="quality-score"' in page and 'data-testid="privacy-risk"' in page
    for chart in ("properties-chart", "columns-chart", "dcr-chart"):
        assert f'data-testid="{chart}"' in page, chart
    assert "column pair trends" in page and "holdout median" in page
    zero = client.post("/generate/synthesize", data={"csrf_token": csrf, "dataset": dataset_id, "rows": "0"})
    assert zero.status_code == 400 and "rows" in zero.get_data(as_text=True)
