"""Point 3 (issue 6): hostile files and bodies get a clear 4xx within bounded time and memory; nothing is stored.

Every case goes through the real upload endpoints (``POST /v1/datasets`` JSON / multipart, ``POST
/v1/rulesets/{id}/revisions``, ``POST /v1/recommendations``) on SQLite and on PostgreSQL. Before and
after each case the row counts are read back through the API (datasets, decisions, ruleset revisions,
audit head): a refused input leaves every count unchanged. Each request must answer within
``LIMIT_S`` seconds, and the process's peak RSS may grow by at most ``RSS_GROWTH_MB`` over the module.
CSV formula injection is accepted as data (it is only text) and neutralised on export (CSV and .xlsx).
"""

from __future__ import annotations

import copy
import io
import json
import resource
import time
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api import create_app
from service.io.writers import build_workbook, render_csv
from tests.api.conftest import (  # noqa: F401 (fixtures)
    bearer,
    database_url,
    demo_request,
    dumps,
    make_settings,
    ruleset_files,
    small_request,
    tokens,
)

LIMIT_S = 15.0
RSS_GROWTH_MB = 400
MAX_BODY = 4 * 1024 * 1024  # this module's app: a small body limit, so "oversized" stays cheap
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def app(database_url: str) -> FastAPI:  # noqa: F811 (this module's own app: a 4 MB body limit)
    return create_app(make_settings(database_url, max_body_bytes=MAX_BODY))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module", autouse=True)
def _bounded_memory() -> Iterator[None]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < RSS_GROWTH_MB, f"peak RSS grew by {grown_mb:.0f} MB over the hostile inputs"


def counts(client: TestClient, tokens: dict[str, str]) -> dict[str, int]:  # noqa: F811
    compiler, auditor = bearer(tokens["compiler"]), bearer(tokens["auditor"])
    revisions = client.get("/v1/rulesets/wuding-county/revisions", headers=bearer(tokens["maintainer"])).json()
    return {
        "datasets": client.get("/v1/datasets", headers=compiler).json()["total"],
        "decisions": client.get("/v1/decisions", headers=compiler).json()["total"],
        "revisions": len(revisions["items"] if isinstance(revisions, dict) else revisions),
        "audit": client.get("/v1/audit/head", headers=auditor).json()["count"],
    }


def refused(client: TestClient, tokens: dict[str, str], send: Any, statuses: set[int]) -> dict[str, Any]:  # noqa: F811
    """Send one hostile request: a clear error in ``statuses``, in bounded time, nothing stored."""
    before = counts(client, tokens)
    started = time.monotonic()
    response = send()
    elapsed = time.monotonic() - started
    assert elapsed < LIMIT_S, f"took {elapsed:.1f} s"
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    error = response.json()["error"]
    assert error["code"] and error["message"], error
    assert counts(client, tokens) == before, "a refused input changed the stored rows"
    return error


def upload(client: TestClient, token: str, files: list[tuple[str, bytes]], **form: str) -> Any:
    parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
    return client.post("/v1/datasets", files=parts, data=form, headers=bearer(token))


def revision(client: TestClient, token: str, files: dict[str, str]) -> Any:
    body = {"files": files, "reason": "hostile", "draft": True}
    headers = {**bearer(token), "Content-Type": "application/json"}
    return client.post("/v1/rulesets/wuding-county/revisions", content=dumps(body), headers=headers)


def csv_pair(request: dict[str, Any]) -> list[tuple[str, bytes]]:
    def table(rows: list[dict[str, Any]]) -> bytes:
        columns = list(dict.fromkeys(k for r in rows for k in r))
        out = io.StringIO()
        import csv

        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("true" if v is True else "false" if v is False else v) for k, v in row.items()})
        return out.getvalue().encode("utf-8")

    return [("departments.csv", table(request["departments"])), ("projects.csv", table(request["projects"]))]


# ------------------------------------------------------------------------------------------ YAML


def test_yaml_alias_bomb_is_refused(client: TestClient, tokens: dict[str, str]) -> None:  # noqa: F811
    files = ruleset_files()
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    files["policies/cut-inefficient.yaml"] = bomb
    error = refused(client, tokens, lambda: revision(client, tokens["maintainer"], files), {422})
    assert "alias" in json.dumps(error)


@pytest.mark.parametrize(
    "text",
    [
        "id: x\n  bad: [indent\n",  # malformed
        "[" * 20000,  # nesting bomb: the composer recurses per level
        "{" * 20000,
        "id: !!python/object/apply:os.system ['true']\n",  # unsafe tag
        "x: " + "y" * 1_100_000 + "\n",  # over the 1 MB file limit
    ],
    ids=["malformed", "deep-list", "deep-map", "python-tag", "oversized"],
)
def test_malformed_or_oversized_yaml_is_refused(client: TestClient, tokens: dict[str, str], text: str) -> None:  # noqa: F811
    files = ruleset_files()
    files["policies/cut-inefficient.yaml"] = text
    refused(client, tokens, lambda: revision(client, tokens["maintainer"], files), {422})


@pytest.mark.parametrize(
    "name", ["policies/../../etc/passwd.yaml", "../rulesets/wuding-county.yaml", "/etc/x.yaml", "policies/a\x00.yaml"]
)
def test_path_traversal_in_ruleset_file_names_is_refused(
    client: TestClient,
    tokens: dict[str, str],  # noqa: F811
    name: str,
) -> None:
    files = ruleset_files()
    files[name] = "id: x\n"
    refused(client, tokens, lambda: revision(client, tokens["maintainer"], files), {422})


# ------------------------------------------------------------------------------------------ JSON


def test_deep_json_nesting_is_refused(
    client: TestClient,
    tokens: dict[str, str],  # noqa: F811
) -> None:
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    compiler = tokens["compiler"]
    refused(client, tokens, lambda: client.post("/v1/datasets", content=deep, headers=bearer(compiler)), {422})
    refused(client, tokens, lambda: client.post("/v1/recommendations", content=deep, headers=bearer(compiler)), {422})
    refused(client, tokens, lambda: upload(client, compiler, [("deep.json", deep)]), {422})


def test_invalid_json_files_are_refused(client: TestClient, tokens: dict[str, str]) -> None:  # noqa: F811
    compiler = tokens["compiler"]
    for content in (b'{"a": NaN}', b"\xff\xfe{\x00}\x00", b'{"a": 1, "a": 2}', b"[1, 2]", b""):
        refused(client, tokens, lambda c=content: upload(client, compiler, [("r.json", c)]), {422})


def test_very_long_strings_are_answered(
    client: TestClient,
    tokens: dict[str, str],  # noqa: F811
    demo_request: dict[str, Any],  # noqa: F811
) -> None:
    """A 3 MB project id: refused, or stored whole; never a 5xx, never slow."""
    request = small_request(demo_request, departments=1)
    request["projects"][0]["project_id"] = "P" * 3_000_000
    refused(
        client,
        tokens,
        lambda: client.post("/v1/recommendations", content=dumps(request), headers=bearer(tokens["compiler"])),
        {422},
    )


def test_oversized_body_and_upload_are_413(client: TestClient, tokens: dict[str, str]) -> None:  # noqa: F811
    big = b'{"x": "' + b"a" * (MAX_BODY + 10) + b'"}'
    compiler = tokens["compiler"]
    refused(client, tokens, lambda: client.post("/v1/datasets", content=big, headers=bearer(compiler)), {413})

    def streamed() -> Any:  # no Content-Length: the streamed bytes are counted
        return client.post("/v1/datasets", content=iter([big[:1_000_000]] * 5), headers=bearer(compiler))

    refused(client, tokens, streamed, {413})
    refused(client, tokens, lambda: upload(client, compiler, [("big.json", big)]), {413})


# ------------------------------------------------------------------------------------------ CSV / xlsx


@pytest.mark.parametrize("encoding", ["utf-16", "gbk", "latin-1"])
def test_csv_in_a_wrong_encoding_is_refused(
    client: TestClient,
    tokens: dict[str, str],  # noqa: F811
    demo_request: dict[str, Any],  # noqa: F811
    encoding: str,
) -> None:
    request = small_request(demo_request, departments=1)
    request["departments"][0]["name"] = "财政局 façade"
    request["projects"][0]["name"] = "项目 é"
    pair = [(name, content.decode("utf-8").encode(encoding, errors="replace")) for name, content in csv_pair(request)]
    error = refused(client, tokens, lambda: upload(client, tokens["compiler"], pair, fiscal_year="2021"), {422})
    assert error["code"] == "invalid_file"
    assert "UTF-8" in json.dumps(error, ensure_ascii=False)


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))  # 64 MB -> ~64 KB
    return buffer.getvalue()


def test_xlsx_zip_bomb_and_broken_workbooks_are_refused(client: TestClient, tokens: dict[str, str]) -> None:  # noqa: F811
    compiler = tokens["compiler"]
    bomb = _zip_bomb()
    assert len(bomb) < 1_000_000
    error = refused(client, tokens, lambda: upload(client, compiler, [("budget.xlsx", bomb)]), {422})
    assert "zip bomb" in json.dumps(error)
    for content in (b"not a zip at all", b"PK\x03\x04" + b"\0" * 100):
        refused(client, tokens, lambda c=content: upload(client, compiler, [("budget.xlsx", c)]), {422})


@pytest.mark.parametrize(
    "names",
    [
        ["../../../../tmp/br-traversal-{u}.json"],
        ["..\\..\\br-traversal-{u}.json"],
        ["../departments.csv", "/etc/projects.csv"],
        ["departments.csv", "projects.csv", "passwd"],
        ["budget.exe"],
    ],
    ids=["dotdot-json", "backslash-json", "dotdot-csv", "three-files", "wrong-suffix"],
)
def test_path_traversal_in_upload_names_writes_nothing_outside(
    client: TestClient,
    tokens: dict[str, str],  # noqa: F811
    names: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The name is reduced to its last part (or refused): no file appears where the name points."""
    marker = uuid.uuid4().hex[:8]
    files = [(n.format(u=marker), b"\xff{}") for n in names]  # refused content: nothing may be stored
    refused(client, tokens, lambda: upload(client, tokens["compiler"], files, fiscal_year="2021"), {400, 422})
    from pathlib import Path

    assert not list(Path("/tmp").glob(f"br-traversal-{marker}*"))
    assert not list(Path("/").glob(f"br-traversal-{marker}*"))


def test_formula_cells_are_stored_as_text_and_neutralised_on_export(
    client: TestClient,
    tokens: dict[str, str],  # noqa: F811
    demo_request: dict[str, Any],  # noqa: F811
) -> None:
    request = small_request(demo_request, departments=3)
    assert len(request["projects"]) >= 3
    request["projects"][0]["name"] = FORMULA
    request["projects"][1]["name"] = "@SUM(A1:A9)"
    request["projects"][2]["beneficiary"] = "+1+cmd|' /C calc'!A0"
    compiler = bearer(tokens["compiler"])
    created = upload(client, tokens["compiler"], csv_pair(request), fiscal_year=str(request["fiscal_year"]))
    assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    stored = client.get(f"/v1/datasets/{dataset_id}", headers=compiler).json()["data"]
    assert stored["projects"][0]["name"] == FORMULA  # kept exactly as data
    body = {"dataset_id": dataset_id}
    result = client.post("/v1/recommendations", content=dumps(body), headers=compiler).json()
    exported = render_csv(result)
    assert FORMULA in exported  # the text survives …
    for line in exported.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "@", "+")), line  # … but no cell starts a formula
    workbook = build_workbook(copy.deepcopy(result))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "@")), (sheet.title, cell.coordinate, cell.value)
