"""POST /v1/datasets reads the bureau's own files, as the CLI does (the same reader, service/io/workbook.py's
header table): a workbook with sheets 部门/项目/参数 under a Chinese file name, and the CSVs 部门.csv,
项目.csv and 参数.csv (万元 headers included). The same data gives the same recommendation as its JSON.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook  # type: ignore[import-untyped]

from service.io.budget_workbook import build_budget_workbook
from tests.api.conftest import bearer, dumps, small_request


@pytest.fixture(scope="module")
def bureau(client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> dict[str, Any]:
    """The request, its recommendation over the API, and the Chinese workbook (万元) holding the request."""
    body = small_request(demo_request)
    result = client.post("/v1/recommendations", content=dumps(body), headers=bearer(tokens["compiler"])).json()
    buffer = io.BytesIO()
    build_budget_workbook(result, request=body, unit="万元").save(buffer)
    return {"body": body, "result": result, "xlsx": buffer.getvalue()}


def _sheet_csv(xlsx: bytes, sheet: str) -> bytes:
    """One sheet of the workbook as the CSV a bureau saves from Excel (UTF-8 with a BOM)."""
    rows = load_workbook(io.BytesIO(xlsx))[sheet].iter_rows(values_only=True)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(["" if v is None else str(Decimal(str(v))) if isinstance(v, float) else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _recommend(client: TestClient, tokens: dict[str, str], dataset: dict[str, Any], envelope: str) -> Any:
    response = client.post(
        "/v1/recommendations",
        json={"dataset_id": dataset["id"], "envelope": envelope},
        headers=bearer(tokens["compiler"]),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_chinese_workbook_under_a_chinese_name(
    client: TestClient, tokens: dict[str, str], bureau: dict[str, Any]
) -> None:
    name = "武定县2021年项目申报.xlsx"
    files = [("files", (name, bureau["xlsx"], "application/vnd.ms-excel"))]
    response = client.post("/v1/datasets", files=files, headers=bearer(tokens["compiler"]))
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["source"] == name.lower() and dataset["fiscal_year"] == 2021
    assert dataset["projects"] == len(bureau["body"]["projects"])
    again = _recommend(client, tokens, dataset, bureau["body"]["envelope"])
    assert again["summary"] == bureau["result"]["summary"]


@pytest.mark.parametrize("with_parameters", [True, False])
def test_chinese_csv_files(
    client: TestClient, tokens: dict[str, str], bureau: dict[str, Any], with_parameters: bool
) -> None:
    files = [
        ("files", ("部门.csv", _sheet_csv(bureau["xlsx"], "部门"), "text/csv")),
        ("files", ("项目.csv", _sheet_csv(bureau["xlsx"], "项目"), "text/csv")),
    ]
    data = {}
    if with_parameters:  # 预算年度 and 财力可安排数（万元） come from 参数.csv
        files.append(("files", ("参数.csv", _sheet_csv(bureau["xlsx"], "参数"), "text/csv")))
    else:
        data = {"fiscal_year": "2021"}
    response = client.post("/v1/datasets", files=files, data=data, headers=bearer(tokens["compiler"]))
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["fiscal_year"] == 2021 and dataset["projects"] == len(bureau["body"]["projects"])
    detail = client.get(f"/v1/datasets/{dataset['id']}", headers=bearer(tokens["compiler"])).json()
    requested = {p["project_id"]: Decimal(p["requested"]) for p in bureau["body"]["projects"]}
    assert {p["project_id"]: Decimal(p["requested"]) for p in detail["data"]["projects"]} == requested  # 万元 → 元
    if with_parameters:
        assert Decimal(detail["data"]["envelope"]) == Decimal(bureau["body"]["envelope"])
    again = _recommend(client, tokens, dataset, bureau["body"]["envelope"])
    assert again["summary"] == bureau["result"]["summary"]


@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        (("部门.csv", "departments.csv", "项目.csv"), "部门.csv"),  # the same list twice
        (("部门.csv", "参数.csv"), "项目.csv"),  # no projects
        (("部门.csv", "项目.csv", "说明.csv"), "说明.csv"),  # an unknown file
    ],
)
def test_bad_chinese_uploads_are_422_and_store_nothing(
    client: TestClient, tokens: dict[str, str], bureau: dict[str, Any], names: tuple[str, ...], fragment: str
) -> None:
    before = client.get("/v1/datasets", headers=bearer(tokens["compiler"])).json()["total"]
    sheets = {"部门.csv": "部门", "departments.csv": "部门", "项目.csv": "项目", "参数.csv": "参数", "说明.csv": "参数"}
    files = [("files", (n, _sheet_csv(bureau["xlsx"], sheets[n]), "text/csv")) for n in names]
    response = client.post(
        "/v1/datasets", files=files, data={"fiscal_year": "2021"}, headers=bearer(tokens["compiler"])
    )
    assert response.status_code == 422, response.text
    assert fragment in str(response.json()["error"]["details"])
    assert client.get("/v1/datasets", headers=bearer(tokens["compiler"])).json()["total"] == before


def test_a_bad_cell_in_a_chinese_csv_is_named(
    client: TestClient, tokens: dict[str, str], bureau: dict[str, Any]
) -> None:
    projects = _sheet_csv(bureau["xlsx"], "项目").decode("utf-8-sig").splitlines()
    cells = next(csv.reader([projects[1]]))
    header = next(csv.reader([projects[0]]))
    column = next(i for i, title in enumerate(header) if title.startswith("申报数"))
    cells[column] = "十二万"
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    projects[1] = buffer.getvalue().rstrip("\r\n")
    files = [
        ("files", ("部门.csv", _sheet_csv(bureau["xlsx"], "部门"), "text/csv")),
        ("files", ("项目.csv", "\n".join(projects).encode("utf-8"), "text/csv")),
    ]
    response = client.post(
        "/v1/datasets", files=files, data={"fiscal_year": "2021"}, headers=bearer(tokens["compiler"])
    )
    assert response.status_code == 422, response.text
    details = str(response.json()["error"]["details"])
    assert "项目.csv" in details and "/tmp" not in details
