"""Amounts only as plain decimal text (issue 10.9); JSON numbers through their decimal text; JSON syntax
errors name line and column on every endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer, dumps, small_request


@pytest.mark.parametrize("text", ["5,00", "1_0", "５", "٥", "1e3", "+5", " ", "0x10"])
def test_loose_amount_text_is_422_naming_record_and_field(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any], text: str
) -> None:
    body = small_request(demo_request)
    body["projects"][2]["requested"] = text
    response = client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"]))
    assert response.status_code == 422
    error = response.json()["error"]
    [detail] = [d for d in error["details"] if d["loc"] == ["projects", 2, "requested"]]
    assert "plain decimal" in detail["message"] or "must not be empty" in detail["message"]
    assert detail["record"] == f"project_id {body['projects'][2]['project_id']}"


def test_json_numbers_and_plain_text_are_accepted_exactly(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = small_request(demo_request)
    text = dumps(body).decode()
    first = body["projects"][0]["requested"]
    body["projects"][0]["requested"] = "1234.5"
    as_text = client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"]))
    raw = dumps(body).decode().replace('"requested": "1234.5"', '"requested": 1234.5', 1)
    assert raw != text and '"requested": 1234.5' in raw
    as_number = client.post("/v1/recommendations", content=raw.encode(), headers=bearer(tokens["compiler"]))
    assert as_text.status_code == as_number.status_code == 200, (as_text.text, first)
    assert as_text.json()["lines"][0]["requested"] == as_number.json()["lines"][0]["requested"] == "1234.50"


def test_json_syntax_error_names_line_and_column_on_a_typed_body(client: TestClient, tokens: dict[str, str]) -> None:
    raw = b'{\n  "name": "x",\n  "role": analyst\n}'
    response = client.post(
        "/v1/tokens", content=raw, headers={**bearer(tokens["admin"]), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    messages = [d["message"] for d in response.json()["error"]["details"]]
    assert any("line 3 column 11" in m for m in messages), messages
