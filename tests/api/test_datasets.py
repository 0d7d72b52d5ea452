"""Datasets: import as a JSON body or uploaded files, list, fetch, and recommend from a dataset id."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer, dumps, small_request

FIELDS_ORDER = ("departments", "projects")


def _csv(records: list[dict[str, Any]]) -> bytes:
    names: list[str] = []
    for record in records:
        names += [k for k in record if k not in names]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names)
    writer.writeheader()
    for record in records:
        writer.writerow(
            {k: "" if v is None else str(v).lower() if isinstance(v, bool) else v for k, v in record.items()}
        )
    return out.getvalue().encode("utf-8")


def _without_id(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "decision_id"}


def test_json_dataset_round_trip_and_recommendation(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = small_request(demo_request)
    compiler = bearer(tokens["compiler"])
    created = client.post("/v1/datasets", content=dumps(body), headers=compiler)
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert dataset["projects"] == len(body["projects"])
    assert dataset["digest"].startswith("sha256:")
    fetched = client.get(f"/v1/datasets/{dataset['id']}", headers=bearer(tokens["analyst"])).json()
    assert fetched["data"]["projects"][0]["project_id"] == body["projects"][0]["project_id"]
    listed = client.get("/v1/datasets", headers=bearer(tokens["analyst"])).json()
    assert dataset["id"] in [d["id"] for d in listed["items"]]

    inline = client.post("/v1/recommendations", content=dumps(body), headers=compiler).json()
    by_id = client.post("/v1/recommendations", json={"dataset_id": dataset["id"]}, headers=compiler).json()
    assert _without_id(by_id) == _without_id(inline)
    decision = client.get(f"/v1/decisions/{by_id['decision_id']}", headers=bearer(tokens["auditor"])).json()
    assert decision["dataset_id"] == dataset["id"]
    replay = client.post(f"/v1/decisions/{by_id['decision_id']}/replay", headers=bearer(tokens["auditor"])).json()
    assert replay["identical"] is True

    overridden = client.post(
        "/v1/recommendations", json={"dataset_id": dataset["id"], "envelope": "1000.00"}, headers=compiler
    ).json()
    assert overridden["envelope"] == "1000.00"


def test_uploaded_json_file(client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> None:
    body = small_request(demo_request)
    response = client.post(
        "/v1/datasets",
        files=[("files", ("request.json", dumps(body), "application/json"))],
        headers=bearer(tokens["compiler"]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["source"] == "request.json"


def test_uploaded_csv_pair(client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> None:
    body = small_request(demo_request)
    files = [
        ("files", ("departments.csv", _csv(body["departments"]), "text/csv")),
        ("files", ("projects.csv", _csv(body["projects"]), "text/csv")),
    ]
    response = client.post(
        "/v1/datasets", files=files, data={"fiscal_year": "2021"}, headers=bearer(tokens["compiler"])
    )
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["fiscal_year"] == 2021
    assert dataset["projects"] == len(body["projects"])
    compiler = bearer(tokens["compiler"])
    from_csv = client.post(
        "/v1/recommendations", json={"dataset_id": dataset["id"], "envelope": body["envelope"]}, headers=compiler
    ).json()
    inline = client.post("/v1/recommendations", content=dumps(body), headers=compiler).json()
    assert json.dumps(from_csv["summary"]["totals"]) == json.dumps(inline["summary"]["totals"])


@pytest.mark.parametrize(
    ("files", "data", "fragment"),
    [
        ([("files", ("request.txt", b"{}", "text/plain"))], {}, "upload one .json or .xlsx"),
        ([("files", ("projects.csv", b"project_id\n", "text/csv"))], {}, "departments.csv and projects.csv"),
        ([("files", ("request.json", b"{oops", "application/json"))], {}, "invalid JSON"),
    ],
)
def test_bad_uploads_are_422(
    client: TestClient, tokens: dict[str, str], files: list[Any], data: dict[str, str], fragment: str
) -> None:
    response = client.post("/v1/datasets", files=files, data=data, headers=bearer(tokens["compiler"]))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_file"
    assert any(fragment in d["message"] for d in error["details"]), error
    assert all("/tmp" not in d["message"] for d in error["details"])


def test_csv_pair_without_fiscal_year_is_422(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    body = small_request(demo_request)
    files = [
        ("files", ("departments.csv", _csv(body["departments"]), "text/csv")),
        ("files", ("projects.csv", _csv(body["projects"]), "text/csv")),
    ]
    response = client.post("/v1/datasets", files=files, headers=bearer(tokens["compiler"]))
    assert response.status_code == 422
    assert "fiscal" in json.dumps(response.json()["error"]["details"])


def test_invalid_dataset_lists_every_problem_and_stores_nothing(
    client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    before = client.get("/v1/datasets", headers=bearer(tokens["analyst"])).json()["total"]
    body = small_request(demo_request)
    body["projects"][2]["requested"] = "-"
    body["departments"][0]["overall_score"] = "abc"
    response = client.post("/v1/datasets", content=dumps(body), headers=bearer(tokens["compiler"]))
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["error"]["details"]}
    assert {("projects", 2, "requested"), ("departments", 0, "overall_score")} <= locs
    assert client.get("/v1/datasets", headers=bearer(tokens["analyst"])).json()["total"] == before


def test_unknown_dataset_is_404(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/v1/datasets/nope", headers=bearer(tokens["analyst"])).status_code == 404
