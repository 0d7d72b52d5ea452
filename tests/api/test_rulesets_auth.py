"""Every ruleset and disclosure endpoint × every role: 401 without a valid token, 403 with the wrong role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import roles
from service.app.roles import ROLES
from tests.api.conftest import (
    assert_role_outcome,
    bearer,
    dumps,
    revision_path,
    ruleset_files,
    shipped_revision,
    small_request,
    upload_revision,
    variant,
)
from tests.api.test_rulesets import DISCLOSURE

Call = Callable[[TestClient, dict[str, str], dict[str, Any]], Any]
READERS = set(roles.RULESET_READERS)
REASON = {"reason": "role matrix"}

# Each endpoint's capability in the one declaration (service/app/roles.py); the app must enforce it.
ENDPOINTS: dict[str, tuple[set[str], Call]] = {
    "GET /v1/rulesets": (READERS, lambda c, h, ctx: c.get("/v1/rulesets", headers=h)),
    "GET /v1/rulesets/{id}/revisions": (
        READERS,
        lambda c, h, ctx: c.get("/v1/rulesets/wuding-county/revisions", headers=h),
    ),
    "GET /v1/rulesets/{id}/revisions/{rev}": (READERS, lambda c, h, ctx: c.get(revision_path(ctx["A"]), headers=h)),
    "POST /v1/rulesets/{id}/revisions": (
        set(roles.MAINTAINERS),
        lambda c, h, ctx: c.post(
            "/v1/rulesets/wuding-county/revisions", json={"files": ctx["files"], **REASON}, headers=h
        ),
    ),
    "POST …/{rev}/propose": (
        set(roles.MAINTAINERS),
        lambda c, h, ctx: c.post(revision_path(ctx["A"], "propose"), json=REASON, headers=h),
    ),
    "POST …/{rev}/approve": (
        set(roles.APPROVERS),
        lambda c, h, ctx: c.post(revision_path(ctx["A"], "approve"), json=REASON, headers=h),
    ),
    "POST …/{rev}/activate": (
        set(roles.APPROVERS),
        lambda c, h, ctx: c.post(revision_path(ctx["A"], "activate"), json=REASON, headers=h),
    ),
    "POST …/{rev}/retire": (
        set(roles.APPROVERS),
        lambda c, h, ctx: c.post(revision_path(ctx["draft"], "retire"), json=REASON, headers=h),
    ),
    "GET …/{rev}/diff": (
        READERS,
        lambda c, h, ctx: c.get(revision_path(ctx["A"], "diff"), params={"against": ctx["A"]}, headers=h),
    ),
    "POST …/{rev}/impact": (
        set(roles.IMPACT_PREVIEWERS),
        lambda c, h, ctx: c.post(revision_path(ctx["A"], "impact"), content=dumps(ctx["request"]), headers=h),
    ),
    "POST /v1/disclosure-reviews": (
        set(roles.COMPILERS),
        lambda c, h, ctx: c.post("/v1/disclosure-reviews", content=dumps(DISCLOSURE), headers=h),
    ),
}


@pytest.fixture(scope="module")
def context(app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]) -> dict[str, Any]:
    draft = upload_revision(client, tokens["maintainer"], variant(7), draft=True).json()
    return {
        "A": shipped_revision(),
        "draft": draft["revision"],
        "files": ruleset_files(**{"cut_rate: 0.10": "cut_rate: 2"}),  # refused with 422 by the maintainer
        "request": small_request(demo_request, departments=1),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_role_matrix(
    client: TestClient, tokens: dict[str, str], context: dict[str, Any], endpoint: str, role: str
) -> None:
    allowed, call = ENDPOINTS[endpoint]
    assert_role_outcome(call(client, bearer(tokens[role]), context), role, allowed)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer br_not-a-token"}])
def test_without_a_valid_token_is_401(
    client: TestClient, context: dict[str, Any], endpoint: str, headers: dict[str, str]
) -> None:
    _, call = ENDPOINTS[endpoint]
    response = call(client, headers, context)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_the_shipped_revision_survived_the_matrix(client: TestClient, tokens: dict[str, str]) -> None:
    detail = client.get(revision_path(shipped_revision()), headers=bearer(tokens["auditor"])).json()
    assert detail["state"] == "active"
