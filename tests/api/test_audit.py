"""The audit chain: verify, head/count, tampering detected, decision + audit record atomic."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from service import audit
from service.domain.ruleset import canonical_json
from tests.api.conftest import SECRET, bearer, dumps, small_request


@pytest.fixture(scope="module")
def decisions(client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> list[dict[str, Any]]:
    body = dumps(small_request(demo_request, departments=1))
    return [
        client.post("/v1/recommendations", content=body, headers=bearer(tokens["compiler"])).json() for _ in range(4)
    ]


def _verify(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    response = client.get("/v1/audit/verify", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def _seq_of(client: TestClient, tokens: dict[str, str], decision_id: str) -> int:
    seq: int = client.get(f"/v1/decisions/{decision_id}", headers=bearer(tokens["auditor"])).json()["audit_seq"]
    return seq


def _one(app: FastAPI, sql: str, **params: Any) -> Any:
    with app.state.budget_rules.db.engine.begin() as connection:
        return connection.execute(text(sql), params).mappings().first()


def _run(app: FastAPI, sql: str, **params: Any) -> None:
    with app.state.budget_rules.db.engine.begin() as connection:
        connection.execute(text(sql), params)


def test_chain_verifies_and_head_counts(
    client: TestClient, tokens: dict[str, str], decisions: list[dict[str, Any]]
) -> None:
    result = _verify(client, tokens)
    assert result["ok"] is True, result
    head = client.get("/v1/audit/head", headers=bearer(tokens["auditor"])).json()
    assert head["count"] == result["count"] == head["seq"]
    assert head["chain_hash"] == result["head_hash"]
    # 2 shipped rulesets installed + 6 token records + 4 recommendations
    assert head["count"] == 12
    last = client.get(f"/v1/decisions/{decisions[-1]['decision_id']}", headers=bearer(tokens["auditor"])).json()
    assert last["chain_hash"] == head["chain_hash"]


def test_audit_record_carries_who_what_and_versions(
    app: FastAPI, decisions: list[dict[str, Any]], client: TestClient, tokens: dict[str, str]
) -> None:
    seq = _seq_of(client, tokens, decisions[0]["decision_id"])
    row = _one(app, "SELECT * FROM audit_records WHERE seq = :s", s=seq)
    assert row["action"] == "recommendation"
    assert row["actor_role"] == "compiler"
    assert row["ruleset_digest"] == decisions[0]["ruleset"]["digest"]
    assert row["package_version"] != "unknown"
    assert row["engine_version"] == "2.0.28"
    previous = _one(app, "SELECT chain_hash FROM audit_records WHERE seq = :s", s=seq - 1)
    assert row["prev_hash"] == previous["chain_hash"]


def test_edited_record_is_named(
    app: FastAPI, client: TestClient, tokens: dict[str, str], decisions: list[dict[str, Any]]
) -> None:
    seq = _seq_of(client, tokens, decisions[1]["decision_id"])
    original = _one(app, "SELECT result_json FROM audit_records WHERE seq = :s", s=seq)["result_json"]
    _run(
        app,
        "UPDATE audit_records SET result_json = :r WHERE seq = :s",
        r=original.replace('"recommended":"', '"recommended":"9', 1),
        s=seq,
    )
    try:
        result = _verify(client, tokens)
        assert result["ok"] is False
        assert result["first_bad_seq"] == seq
        assert "edited" in result["problem"]
    finally:
        _run(app, "UPDATE audit_records SET result_json = :r WHERE seq = :s", r=original, s=seq)
    assert _verify(client, tokens)["ok"] is True


def test_removed_record_is_named(
    app: FastAPI, client: TestClient, tokens: dict[str, str], decisions: list[dict[str, Any]]
) -> None:
    seq = _seq_of(client, tokens, decisions[2]["decision_id"])
    saved = dict(_one(app, "SELECT * FROM audit_records WHERE seq = :s", s=seq))
    _run(app, "DELETE FROM audit_records WHERE seq = :s", s=seq)
    try:
        result = _verify(client, tokens)
        assert result["ok"] is False
        assert result["first_bad_seq"] == seq
        assert "missing" in result["problem"]
    finally:
        columns = ", ".join(saved)
        _run(app, f"INSERT INTO audit_records ({columns}) VALUES ({', '.join(':' + c for c in saved)})", **saved)
    assert _verify(client, tokens)["ok"] is True


def test_removed_last_record_is_noticed(
    app: FastAPI, client: TestClient, tokens: dict[str, str], decisions: list[dict[str, Any]]
) -> None:
    head = client.get("/v1/audit/head", headers=bearer(tokens["auditor"])).json()
    saved = dict(_one(app, "SELECT * FROM audit_records WHERE seq = :s", s=head["seq"]))
    _run(app, "DELETE FROM audit_records WHERE seq = :s", s=head["seq"])
    try:
        result = _verify(client, tokens)
        assert result["ok"] is False
        assert result["first_bad_seq"] == head["seq"]
    finally:
        columns = ", ".join(saved)
        _run(app, f"INSERT INTO audit_records ({columns}) VALUES ({', '.join(':' + c for c in saved)})", **saved)
    assert _verify(client, tokens)["ok"] is True


def test_swapped_records_are_named(
    app: FastAPI, client: TestClient, tokens: dict[str, str], decisions: list[dict[str, Any]]
) -> None:
    """Reordering: two records exchange places (their seq numbers swapped)."""
    a = _seq_of(client, tokens, decisions[0]["decision_id"])
    b = a + 1
    _run(app, "UPDATE audit_records SET seq = -1 WHERE seq = :a", a=a)
    _run(app, "UPDATE audit_records SET seq = :a WHERE seq = :b", a=a, b=b)
    _run(app, "UPDATE audit_records SET seq = :b WHERE seq = -1", b=b)
    try:
        result = _verify(client, tokens)
        assert result["ok"] is False
        assert result["first_bad_seq"] == a
    finally:
        _run(app, "UPDATE audit_records SET seq = -1 WHERE seq = :a", a=a)
        _run(app, "UPDATE audit_records SET seq = :a WHERE seq = :b", a=a, b=b)
        _run(app, "UPDATE audit_records SET seq = :b WHERE seq = -1", b=b)
    assert _verify(client, tokens)["ok"] is True


def test_wrong_secret_fails_verification(app: FastAPI, decisions: list[dict[str, Any]]) -> None:
    with app.state.budget_rules.db.transaction() as session:
        assert audit.verify(session, SECRET).ok
        bad = audit.verify(session, "another-secret")
    assert not bad.ok
    assert bad.first_bad_seq == 1


def test_decision_and_audit_record_are_one_transaction(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    """A squatter row takes the next audit seq, so the audit insert fails: the decision must not stay."""
    head = client.get("/v1/audit/head", headers=bearer(tokens["auditor"])).json()
    before = _one(app, "SELECT count(*) AS n FROM decisions")["n"]
    squatter = dict(_one(app, "SELECT * FROM audit_records WHERE seq = :s", s=head["seq"]))
    squatter["seq"] = head["seq"] + 1
    columns = ", ".join(squatter)
    _run(app, f"INSERT INTO audit_records ({columns}) VALUES ({', '.join(':' + c for c in squatter)})", **squatter)
    try:
        response = client.post(
            "/v1/recommendations", content=dumps(small_request(demo_request, 1)), headers=bearer(tokens["compiler"])
        )
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "storage_error"
        assert _one(app, "SELECT count(*) AS n FROM decisions")["n"] == before
        assert client.get("/v1/audit/head", headers=bearer(tokens["auditor"])).json() == head
    finally:
        _run(app, "DELETE FROM audit_records WHERE seq = :s", s=squatter["seq"])
    assert _verify(client, tokens)["ok"] is True
    ok = client.post(
        "/v1/recommendations", content=dumps(small_request(demo_request, 1)), headers=bearer(tokens["compiler"])
    )
    assert ok.status_code == 200
    assert _one(app, "SELECT count(*) AS n FROM decisions")["n"] == before + 1


@pytest.mark.parametrize(
    ("seq", "text"),
    [
        (1, '{"note":"plain"}'),
        (2, '{"名称":"武定县\\n第二行\\t","ctl":"\\u001f\\u007f"}'),
        (3, 'quotes " and backslashes \\ and / and \u2028 \u2029 \x7f \x00 and 𝄞'),
        (2**70, "a number beyond 64 bits: the standard library writes the record"),
    ],
)
def test_chain_hash_is_that_of_the_standard_canonical_form(seq: int, text: str) -> None:
    """The chain hash is computed through orjson; chains written with the standard library's text still verify."""
    row = audit.AuditRecordRow(
        seq=seq,
        recorded_at="2026-11-30T00:00:00.000000+00:00",
        actor_name="名字",
        actor_role="compiler",
        action="recommendation",
        subject=None,
        input_json=text,
        result_json=text * 3,
        ruleset_id=None,
        ruleset_revision=None,
        ruleset_digest=None,
        package_version="1",
        engine_version="2.0.28",
        prev_hash=audit.GENESIS,
        chain_hash="",
    )
    stdlib = canonical_json(row.model_dump(exclude={"chain_hash"}))
    expected = hmac.new(SECRET.encode(), (row.prev_hash + stdlib).encode(), hashlib.sha256)
    assert audit.chain_hash(SECRET, row) == expected.hexdigest()
