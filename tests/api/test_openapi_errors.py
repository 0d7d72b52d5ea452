"""OpenAPI documents every error status in the envelope; every request body refuses unknown fields.

Issue 10, point 11. Before: operations listed only 200/201/204/422 (FastAPI's own 422 shape), and
POST /v1/tokens silently dropped unknown fields.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer, dumps, shipped_revision, small_request

ALWAYS = {"401", "403", "404", "422", "429", "503"}


def test_every_operation_documents_its_errors_in_the_envelope(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    operations = 0
    for path, item in schema["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            operations += 1
            responses = operation["responses"]
            expected = set(ALWAYS)
            if method != "get":
                expected |= {"409", "413"}
            assert expected <= set(responses), (method, path, sorted(responses))
            for status in expected:
                ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorEnvelope", (method, path, status)
    assert operations >= 25
    assert "409" in schema["paths"]["/v1/audit/head"]["get"]["responses"]
    assert "400" in schema["paths"]["/v1/datasets"]["post"]["responses"]  # multipart refusals (too many files)
    assert set(schema["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}


def _unknown_field_refused(response: Any) -> None:
    assert response.status_code == 422, response.text[:300]
    assert "surprise" in response.text


@pytest.mark.parametrize(
    ("role", "path", "body"),
    [
        ("admin", "/v1/tokens", {"name": "extra-field", "role": "auditor", "surprise": 1}),
        ("maintainer", "/v1/rulesets/wuding-county/revisions", {"files": {}, "reason": "x", "surprise": 1}),
        ("approver", "/v1/rulesets/wuding-county/revisions/0123456789ab/approve", {"reason": "x", "surprise": 1}),
        ("analyst", "/v1/simulations", {"scenario": "gate-sweep", "surprise": 1}),
    ],
)
def test_request_bodies_refuse_unknown_fields(
    client: TestClient, tokens: dict[str, str], role: str, path: str, body: dict[str, Any]
) -> None:
    _unknown_field_refused(client.post(path, json=body, headers=bearer(tokens[role])))


def test_budget_request_bodies_refuse_unknown_fields(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = {**small_request(demo_request, 1), "surprise": 1}
    _unknown_field_refused(client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"])))
    _unknown_field_refused(client.post("/v1/datasets", content=dumps(body), headers=bearer(tokens["compiler"])))


@pytest.mark.parametrize(
    ("role", "path"),
    [("compiler", "/v1/disclosure-reviews"), ("analyst", "/v1/rulesets/wuding-county/revisions/SHIPPED/impact")],
)
def test_other_json_bodies_name_unknown_fields(
    client: TestClient, tokens: dict[str, str], role: str, path: str
) -> None:
    path = path.replace("SHIPPED", shipped_revision())
    body = {"fiscal_year": 2021, "departments": [], "surprise": 1}
    _unknown_field_refused(client.post(path, json=body, headers=bearer(tokens[role])))


@pytest.mark.parametrize("body", [b"\xff\xfe\x0e", b"[" * 100_000, b'{"name": 1' + b"9" * 5000 + b"}"])
def test_unparseable_bodies_of_model_endpoints_are_422(client: TestClient, tokens: dict[str, str], body: bytes) -> None:
    """Found by schemathesis: bad UTF-8 made FastAPI answer an undocumented 400 on POST /v1/tokens."""
    headers = {**bearer(tokens["admin"]), "Content-Type": "application/json"}
    response = client.post("/v1/tokens", content=body, headers=headers)
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["code"] == "invalid_parameters"
