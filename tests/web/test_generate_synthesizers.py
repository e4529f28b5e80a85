"""The synthesize form offers the sequence synthesizers (``par``, ``regime_var``) beside the four
single-table ones, each with a one-line hint, and passes their time column on to the job."""

from __future__ import annotations

from flask import Flask

from tests.conftest import auth
from tests.web.conftest import Users, session_client
from tests.web.test_data_pages import _upload

SERIES = "timestamp,level\n" + "".join(f"2024-03-01T08:{i // 60:02d}:{i % 60:02d},{2.5 + (i % 9) * 0.1}\n"
                                       for i in range(120))


def test_the_form_lists_every_synthesizer_with_a_hint_and_submits_a_time_series(
    app: Flask, users: Users, keys: dict[str, str]
) -> None:
    dataset_id = _upload(app, keys, SERIES, "series.csv")
    client, csrf = session_client(app, users["generate"])
    form = client.get(f"/generate/synthesize?dataset={dataset_id}").get_data(as_text=True)
    for name in ("gaussian_copula", "ctgan", "tvae", "copulagan", "par", "regime_var"):
        assert f'<option value="{name}">{name}: ' in form, name
    assert "follows the day&#39;s clock" in form and 'name="sequence_index"' in form

    run = client.post("/generate/synthesize", data={
        "csrf_token": csrf, "dataset": dataset_id, "synthesizer": "regime_var", "sequence_index": "timestamp",
        "rows": "60",
    })
    assert run.status_code == 303, run.get_data(as_text=True)
    job_id = run.headers["Location"].rsplit("/", 1)[1]
    job = client.get(f"/v1/jobs/{job_id}", headers=auth(keys["read"])).get_json()
    assert job["kind"] == "synthesize"
    assert job["params"]["synthesizer"] == "regime_var" and job["params"]["sequence_index"] == "timestamp"

    refused = client.post("/generate/synthesize", data={
        "csrf_token": csrf, "dataset": dataset_id, "synthesizer": "gaussian_copula", "sequence_index": "timestamp",
    })
    assert refused.status_code == 400 and "sequence_index" in refused.get_data(as_text=True)
