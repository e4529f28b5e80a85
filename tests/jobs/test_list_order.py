"""`GET /v1/jobs?order=`: newest first by default (the published pages list "recent jobs"),
oldest first with `order=asc`, keyset-paged both ways, and a clear 400 for any other order."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import auth
from tests.jobs.conftest import mock_schema


def _submit(client: FlaskClient, headers: dict[str, str], n: int) -> list[str]:
    return [
        client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(5)}}, headers=headers)
        .get_json()["id"]
        for _ in range(n)
    ]


def _walk(client: FlaskClient, headers: dict[str, str], query: str) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """Every page of ``/v1/jobs?<query>&limit=2``, following ``next_after``: (ids per page, pages)."""
    pages, ids, after = [], [], ""
    while True:
        page = client.get(f"/v1/jobs?{query}&limit=2&after={after}", headers=headers).get_json()
        pages.append(page)
        ids.append([j["id"] for j in page["data"]])
        if not page["has_more"]:
            return ids, pages
        after = page["next_after"]


def test_default_is_newest_first_and_pages_backwards(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["generate"])
    ids = _submit(client, headers, 5)
    first = client.get("/v1/jobs?limit=2", headers=headers).get_json()
    assert [j["id"] for j in first["data"]] == ids[:-3:-1] and first["next_after"] == ids[3]
    pages, raw = _walk(client, headers, "order=desc")
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert [p["has_more"] for p in raw] == [True, True, False] and raw[-1]["next_after"] is None
    assert client.get("/v1/client/jobs?limit=1", headers=headers).get_json()["data"][0]["id"] == ids[-1]


def test_asc_pages_forwards(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["generate"])
    ids = _submit(client, headers, 5)
    pages, _ = _walk(client, headers, "order=asc")
    assert pages == [ids[0:2], ids[2:4], ids[4:]]


def test_a_job_submitted_while_paging_is_neither_skipped_nor_repeated(
    client: FlaskClient, keys: dict[str, str]
) -> None:
    headers = auth(keys["generate"])
    ids = _submit(client, headers, 3)
    first = client.get("/v1/jobs?limit=2", headers=headers).get_json()
    newer = _submit(client, headers, 1)
    rest = client.get(f"/v1/jobs?limit=2&after={first['next_after']}", headers=headers).get_json()
    assert [j["id"] for j in first["data"] + rest["data"]] == ids[::-1]
    assert client.get("/v1/jobs?limit=1", headers=headers).get_json()["data"][0]["id"] == newer[0]


def test_order_combines_with_filters(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["generate"])
    ids = _submit(client, headers, 4)
    for job_id in (ids[0], ids[2]):
        client.post(f"/v1/jobs/{job_id}/cancel", headers=headers)
    desc = client.get("/v1/jobs?status=canceled&kind=mock&limit=1", headers=headers).get_json()
    assert [j["id"] for j in desc["data"]] == [ids[2]] and desc["has_more"]
    rest = client.get(f"/v1/jobs?status=canceled&limit=1&after={desc['next_after']}", headers=headers).get_json()
    assert [j["id"] for j in rest["data"]] == [ids[0]] and not rest["has_more"]
    asc = client.get("/v1/jobs?status=canceled&order=asc", headers=headers).get_json()
    assert [j["id"] for j in asc["data"]] == [ids[0], ids[2]]


def test_bad_order_is_a_400_naming_the_field(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["read"])
    for query in ("order=sideways", "order=", "order=DESC"):
        response = client.get(f"/v1/jobs?{query}", headers=headers)
        assert response.status_code == 400, query
        error = response.get_json()["error"]
        assert error["code"] == "VALIDATION_FAILED" and error["status"] == 400 and error["correlation_id"]
        assert [d["field"] for d in error["details"]] == ["order"], error
    alias = client.get("/v1/client/jobs?order=sideways", headers=headers)
    assert alias.status_code == 400 and alias.get_json()["error"]["details"][0]["field"] == "order"
