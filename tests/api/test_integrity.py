"""Rows bound to their audit records (service/integrity.py): a forged row is named by verify, GET and replay.

The forgeries are made the way an insider with database access would: plain SQL on the stored rows,
leaving the audit chain itself untouched (so the chain walk alone would say "ok").
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from service import audit
from tests.api.conftest import SECRET, bearer, dumps, small_request


def _one(app: FastAPI, sql: str, **params: Any) -> Any:
    with app.state.budget_rules.db.engine.begin() as connection:
        return connection.execute(text(sql), params).mappings().first()


def _run(app: FastAPI, sql: str, **params: Any) -> None:
    with app.state.budget_rules.db.engine.begin() as connection:
        connection.execute(text(sql), params)


def _recommend(client: TestClient, tokens: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"]))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _verify(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    response = client.get("/v1/audit/verify", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _named(verification: dict[str, Any], kind: str, row_id: str) -> dict[str, Any]:
    found = [m for m in verification["mismatches"] if m["kind"] == kind and m["id"] == row_id]
    assert found, verification
    return found[0]


def test_untouched_rows_verify(client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> None:
    decision = _recommend(client, tokens, small_request(demo_request, 1))
    result = _verify(client, tokens)
    assert result["ok"] is True, result
    assert result["mismatches"] == [] and result["mismatch_count"] == 0
    detail = client.get(f"/v1/decisions/{decision['decision_id']}", headers=bearer(tokens["auditor"])).json()
    assert detail["integrity"] == {
        "matches_audit": True,
        "audit_seq": detail["audit_seq"],
        "fields": [],
        "problem": None,
    }


def test_forged_decision_with_the_services_own_answer_is_caught(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    """Input and result rewritten to what the service itself answers for a forged input, id kept."""
    genuine_body = small_request(demo_request, 1)
    genuine = _recommend(client, tokens, genuine_body)
    forged_body = {**genuine_body, "envelope": "100000.00"}
    answer = _recommend(client, tokens, forged_body)
    decision_id = genuine["decision_id"]
    forged_row = _one(app, "SELECT input_json, result_json FROM decisions WHERE id = :i", i=answer["decision_id"])
    forged_result = forged_row["result_json"].replace(answer["decision_id"], decision_id)
    assert forged_result != _one(app, "SELECT result_json FROM decisions WHERE id = :i", i=decision_id)["result_json"]
    _run(
        app,
        "UPDATE decisions SET input_json = :inp, result_json = :res, envelope = :env WHERE id = :i",
        inp=forged_row["input_json"],
        res=forged_result,
        env="100000.00",
        i=decision_id,
    )
    _run(app, "DELETE FROM decisions WHERE id = :i", i=answer["decision_id"])  # hide the helper decision

    detail = client.get(f"/v1/decisions/{decision_id}", headers=bearer(tokens["auditor"])).json()
    assert detail["result"]["envelope"] == "100000.00"  # the row shows the forgery …
    assert detail["integrity"]["matches_audit"] is False  # … and says it does not match its record
    assert {"input", "result", "envelope"} <= set(detail["integrity"]["fields"])

    verification = _verify(client, tokens)
    assert verification["ok"] is False
    named = _named(verification, "decision", decision_id)
    assert {"input", "result"} <= set(named["fields"])
    assert named["audit_seq"] == detail["audit_seq"]
    assert _named(verification, "decision", answer["decision_id"])["fields"] == ["row"]  # its deletion too
    with app.state.budget_rules.db.transaction() as session:
        assert audit.verify(session, SECRET).ok is False  # what `budget-rules audit verify` runs

    replay = client.post(f"/v1/decisions/{decision_id}/replay", headers=bearer(tokens["auditor"]))
    assert replay.status_code == 200, replay.text
    report = replay.json()
    # replay re-runs the RECORDED input and compares with the RECORDED result: the genuine decision
    assert report["identical"] is True
    record = _one(app, "SELECT result_json FROM audit_records WHERE seq = :s", s=detail["audit_seq"])
    import hashlib

    assert report["recorded_sha256"] == "sha256:" + hashlib.sha256(record["result_json"].encode()).hexdigest()
    assert json.loads(record["result_json"])["envelope"] == genuine["envelope"]
    assert report["integrity"]["matches_audit"] is False


def test_decision_rows_hold_the_texts_of_their_records(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    """The row's result (and a body's input) are copied from the audit record inside the database: the same text,
    and the text of the response; a dataset decision's row holds the dataset's input, its record the reference."""
    body = small_request(demo_request, 1)
    imported = client.post("/v1/datasets", content=dumps(body), headers=bearer(tokens["compiler"]))
    assert imported.status_code == 201, imported.text
    for request in (body, {"dataset_id": imported.json()["id"], "envelope": "100000.00"}):
        response = client.post("/v1/recommendations", content=dumps(request), headers=bearer(tokens["compiler"]))
        assert response.status_code == 200, response.text
        decision_id = response.json()["decision_id"]
        row = _one(app, "SELECT * FROM decisions WHERE id = :i", i=decision_id)
        record = _one(app, "SELECT * FROM audit_records WHERE seq = :s", s=row["audit_seq"])
        assert row["result_json"] == record["result_json"] == response.text
        assert json.loads(row["input_json"])["projects"] == body["projects"]
        assert (row["input_json"] == record["input_json"]) is ("dataset_id" not in request)
        assert row["chain_hash"] == record["chain_hash"] and row["envelope"] == json.loads(response.text)["envelope"]
        detail = client.get(f"/v1/decisions/{decision_id}", headers=bearer(tokens["auditor"])).json()
        assert detail["integrity"]["matches_audit"] is True, detail["integrity"]


def test_forged_dataset_and_revision_rows_are_named(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    imported = client.post(
        "/v1/datasets", content=dumps(small_request(demo_request, 1)), headers=bearer(tokens["compiler"])
    )
    assert imported.status_code == 201, imported.text
    dataset_id = imported.json()["id"]
    data = _one(app, "SELECT data_json FROM datasets WHERE id = :i", i=dataset_id)["data_json"]
    _run(
        app,
        "UPDATE datasets SET data_json = :d WHERE id = :i",
        d=data.replace("5000000.00", "9000000.00"),
        i=dataset_id,
    )
    revision = _one(app, "SELECT ruleset_id, revision, state FROM ruleset_revisions ORDER BY revision LIMIT 1")
    _run(
        app,
        "UPDATE ruleset_revisions SET state = 'retired' WHERE ruleset_id = :r AND revision = :v",
        r=revision["ruleset_id"],
        v=revision["revision"],
    )
    try:
        verification = _verify(client, tokens)
        assert _named(verification, "dataset", dataset_id)["fields"] == ["data"]
        name = f"{revision['ruleset_id']}@{revision['revision']}"
        assert _named(verification, "revision", name)["fields"] == ["state"]
    finally:
        _run(
            app,
            "UPDATE ruleset_revisions SET state = :s WHERE ruleset_id = :r AND revision = :v",
            s=revision["state"],
            r=revision["ruleset_id"],
            v=revision["revision"],
        )
        _run(app, "UPDATE datasets SET data_json = :d WHERE id = :i", d=data, i=dataset_id)
