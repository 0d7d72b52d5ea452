"""Recommendations, decision retrieval, filters and replay, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.cli import run_recommendation
from service.domain.ruleset import canonical_json
from tests.api.conftest import DEMO, bearer, dumps, small_request


def _without_id(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "decision_id"}


def test_recommendation_equals_cli_result(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.post("/v1/recommendations", content=DEMO.read_bytes(), headers=bearer(tokens["compiler"]))
    assert response.status_code == 200, response.text
    expected = json.loads(canonical_json(run_recommendation(DEMO)))
    assert _without_id(response.json()) == _without_id(expected)
    assert response.json()["ruleset"]["digest"].startswith("sha256:")


def test_decision_is_recorded_and_retrievable(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = small_request(demo_request)
    result = client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"])).json()
    response = client.get(f"/v1/decisions/{result['decision_id']}", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["result"] == result
    assert decision["input"]["projects"][0]["project_id"] == body["projects"][0]["project_id"]
    assert decision["ruleset"] == result["ruleset"]
    assert decision["actor"]["role"] == "compiler"
    assert len(decision["chain_hash"]) == 64
    assert decision["created_at"].endswith("Z") or decision["created_at"].endswith("+00:00")


def test_money_stays_exact_and_floats_never_enter(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = small_request(demo_request)
    raw = dumps(body).replace(b'"5000000.00"', b"5000000.10")  # a JSON number with a fraction
    result = client.post("/v1/recommendations", content=raw, headers=bearer(tokens["compiler"])).json()
    assert result["envelope"] == "5000000.10"


def test_decision_filters_and_pagination(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = small_request(demo_request, departments=2)
    ids = [
        client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"])).json()[
            "decision_id"
        ]
        for _ in range(3)
    ]
    auditor = bearer(tokens["auditor"])
    everything = client.get("/v1/decisions", headers=auditor).json()
    assert everything["total"] >= 3
    first = client.get("/v1/decisions", params={"limit": 2, "offset": 0}, headers=auditor).json()
    second = client.get("/v1/decisions", params={"limit": 2, "offset": 2}, headers=auditor).json()
    assert [i["decision_id"] for i in first["items"]] == ids[::-1][:2]
    assert second["items"][0]["decision_id"] == ids[0]
    department = body["departments"][0]["department_id"]
    by_department = client.get("/v1/decisions", params={"department": department, "limit": 500}, headers=auditor)
    assert set(ids) <= {i["decision_id"] for i in by_department.json()["items"]}
    nobody = client.get("/v1/decisions", params={"department": "NO-SUCH"}, headers=auditor).json()
    assert nobody["total"] == 0
    assert client.get("/v1/decisions", params={"fiscal_year": 1999}, headers=auditor).json()["total"] == 0
    assert client.get("/v1/decisions", params={"ruleset": "wuding-county"}, headers=auditor).json()["total"] >= 3
    assert client.get("/v1/decisions", params={"actor": "nobody"}, headers=auditor).json()["total"] == 0
    assert client.get("/v1/decisions", params={"since": "2999-01-01T00:00:00Z"}, headers=auditor).json()["total"] == 0
    assert client.get("/v1/decisions", params={"until": "2999-01-01T00:00:00Z"}, headers=auditor).json()["total"] >= 3


def test_replay_is_identical(client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> None:
    result = client.post(
        "/v1/recommendations", content=dumps(small_request(demo_request)), headers=bearer(tokens["compiler"])
    ).json()
    response = client.post(f"/v1/decisions/{result['decision_id']}/replay", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["identical"] is True
    assert report["differences"] == []
    assert report["recorded_sha256"] == report["replayed_sha256"]


def test_replay_compares_with_the_audit_record_not_the_row(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    """An edited row is neither what replay compares with nor vouched for: the report names it (issue 10)."""
    result = client.post(
        "/v1/recommendations", content=dumps(small_request(demo_request)), headers=bearer(tokens["compiler"])
    ).json()
    altered = json.loads(json.dumps(result))
    altered["lines"][0]["recommended"] = "1.00"
    with app.state.budget_rules.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE decisions SET result_json = :r WHERE id = :i"),
            {"r": canonical_json(altered), "i": result["decision_id"]},
        )
    report = client.post(f"/v1/decisions/{result['decision_id']}/replay", headers=bearer(tokens["auditor"])).json()
    assert report["identical"] is True
    assert report["differences"] == []
    assert report["integrity"]["matches_audit"] is False
    assert report["integrity"]["fields"] == ["result"]


def test_differences_name_each_location() -> None:
    from service.app.decisions import differences

    recorded = {"lines": [{"recommended": "1.00", "code": "A"}], "envelope": "5.00"}
    replayed = {"lines": [{"recommended": "2.00", "code": "A"}], "envelope": "5.00"}
    assert differences(recorded, replayed) == [
        {"loc": ["lines", 0, "recommended"], "recorded": "1.00", "replayed": "2.00"}
    ]


def test_replay_refuses_an_unavailable_ruleset_revision(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], database_url: str
) -> None:
    """The recorded revision is not in this database (e.g. restored without it): 409, never a guess."""
    from service.api import create_app
    from tests.api.conftest import make_settings

    result = client.post(
        "/v1/recommendations", content=dumps(small_request(demo_request)), headers=bearer(tokens["compiler"])
    ).json()
    ref = result["ruleset"]
    where = "ruleset_id = :r AND revision = :v"
    with app.state.budget_rules.db.engine.begin() as connection:
        saved = dict(
            connection.execute(
                text(f"SELECT * FROM ruleset_revisions WHERE {where}"), {"r": ref["id"], "v": ref["revision"]}
            )
            .mappings()
            .one()
        )
        connection.execute(text(f"DELETE FROM ruleset_revisions WHERE {where}"), {"r": ref["id"], "v": ref["revision"]})
    try:
        with TestClient(create_app(make_settings(database_url), migrate=False, warm=False)) as fresh:
            response = fresh.post(f"/v1/decisions/{result['decision_id']}/replay", headers=bearer(tokens["auditor"]))
    finally:
        columns = ", ".join(saved)
        with app.state.budget_rules.db.engine.begin() as connection:
            connection.execute(
                text(f"INSERT INTO ruleset_revisions ({columns}) VALUES ({', '.join(':' + c for c in saved)})"), saved
            )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "ruleset_revision_unavailable"
    assert "not available" in error["message"]


def test_unknown_decision_is_404(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.get("/v1/decisions/nope", headers=bearer(tokens["auditor"]))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    replay = client.post("/v1/decisions/nope/replay", headers=bearer(tokens["auditor"]))
    assert replay.status_code == 404 and replay.json()["error"]["code"] == "not_found"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "engine": "ok"}
    assert "/v1/recommendations" in client.get("/openapi.json").json()["paths"]
