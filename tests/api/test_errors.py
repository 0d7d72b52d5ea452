"""The error envelope: 422 with every problem located, 413 (declared and streamed), 404/405, 503."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from tests.api.conftest import bearer, dumps, make_settings, small_request


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error


def test_invalid_input_lists_every_problem_with_its_location(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = small_request(demo_request)
    body["projects"][3]["requested"] = "lots"
    body["projects"][1]["evaluation_score"] = "high"
    del body["projects"][0]["name"]
    response = client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"]))
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid_input"
    locs = [tuple(d["loc"]) for d in error["details"]]
    assert ("projects", 3, "requested") in locs
    assert ("projects", 1, "evaluation_score") in locs
    assert ("projects", 0, "name") in locs
    assert all(d["message"] for d in error["details"])


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "invalid JSON"),
        (b'{"fiscal_year": NaN}', "NaN"),
        (b'{"fiscal_year": Infinity}', "Infinity"),
        (b'{"a": 1, "a": 2}', "twice"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b"", "invalid JSON"),
    ],
)
def test_malformed_bodies_are_422_never_500(
    client: TestClient, tokens: dict[str, str], raw: bytes, fragment: str
) -> None:
    response = client.post("/v1/recommendations", content=raw, headers=bearer(tokens["compiler"]))
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid_json"
    assert fragment in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"fiscal_year": 2021, "departments": [], "projects": [], "ruleset": "no-such-ruleset"},
        {
            "fiscal_year": 1900,
            "departments": [{"department_id": "D1", "name": "x", "overall_score": 90}],
            "projects": [{"project_id": "P1", "department_id": "D1", "name": "p", "requested": "1.00"}],
        },
        {"dataset_id": "no-such-dataset"},
        {"dataset_id": 5},
        {"dataset_id": "x", "projects": []},
        {"fiscal_year": True, "departments": "x", "projects": 7},
    ],
)
def test_odd_requests_are_client_errors(client: TestClient, tokens: dict[str, str], body: dict[str, Any]) -> None:
    response = client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"]))
    assert 400 <= response.status_code < 500, response.text
    _error(response)


def test_bad_query_parameters_are_422(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.get("/v1/decisions", params={"limit": "many"}, headers=bearer(tokens["auditor"]))
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid_parameters"
    assert error["details"][0]["loc"] == ["query", "limit"]


def test_unknown_route_and_method_use_the_envelope(client: TestClient, tokens: dict[str, str]) -> None:
    assert _error(client.get("/v1/nothing-here", headers=bearer(tokens["auditor"])))["code"] == "not_found"
    assert _error(client.get("/v1/nothing-here"))["code"] == "unauthenticated"  # authentication comes first
    assert _error(client.delete("/healthz"))["code"] == "method_not_allowed"


@pytest.fixture(scope="module")
def small_limit_client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(database_url, max_body_bytes=2048))) as test_client:
        yield test_client


def test_declared_oversized_body_is_413(small_limit_client: TestClient, tokens: dict[str, str]) -> None:
    response = small_limit_client.post(
        "/v1/recommendations", content=b"{" + b" " * 5000 + b"}", headers=bearer(tokens["compiler"])
    )
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


def test_streamed_oversized_body_is_413(small_limit_client: TestClient, tokens: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"{"
        for _ in range(10):
            yield b" " * 1000
        yield b"}"

    response = small_limit_client.post("/v1/recommendations", content=chunks(), headers=bearer(tokens["compiler"]))
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


def test_streamed_oversized_upload_is_413(small_limit_client: TestClient, tokens: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    response = small_limit_client.post(
        "/v1/datasets",
        content=chunks(),
        headers={**bearer(tokens["compiler"]), "Content-Type": "multipart/form-data; boundary=zzz"},
    )
    assert response.status_code == 413


def test_unreachable_database_is_503(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        url = "sqlite:////nonexistent-folder/budget-rules/db.sqlite3"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    with TestClient(create_app(make_settings(url), migrate=False, warm=False)) as down:
        response = down.get("/v1/decisions", headers=bearer("br_anything"))
        assert response.status_code == 503
        assert _error(response)["code"] == "database_unavailable"
        ready = down.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unreachable")


def test_arrays_and_objects_where_a_value_belongs_are_422(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = small_request(demo_request)
    body["projects"][0]["department_id"] = ["D001"]
    body["departments"][1]["department_id"] = {"id": "D002"}
    body["projects"][2]["requested"] = "lots"
    for path in ("/v1/recommendations", "/v1/datasets"):
        response = client.post(path, content=dumps(body), headers=bearer(tokens["compiler"]))
        assert response.status_code == 422, response.text
        locs = [tuple(d["loc"]) for d in _error(response)["details"]]
        assert ("projects", 0, "department_id") in locs
        assert ("departments", 1, "department_id") in locs
        assert ("projects", 2, "requested") in locs
