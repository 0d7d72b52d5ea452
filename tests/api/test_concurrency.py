"""50 concurrent recommendations against a real uvicorn server: one linear chain that verifies."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.api import create_app
from tests.api.conftest import bearer, dumps, make_settings, small_request

CONCURRENT = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(database_url: str, client: TestClient) -> Iterator[str]:
    """A real uvicorn server on a free 127.0.0.1 port (its own app instance, the same database)."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(make_settings(database_url)), host="127.0.0.1", port=port, log_level="warning", limit_concurrency=200
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


def test_concurrent_recommendations_keep_one_linear_chain(
    server: str, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    auditor = bearer(tokens["auditor"])
    before = client.get("/v1/audit/head", headers=auditor).json()["count"]
    body = dumps(small_request(demo_request, departments=2))
    barrier = threading.Barrier(CONCURRENT)

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=server, timeout=120) as http:
            barrier.wait()
            return http.post("/v1/recommendations", content=body, headers=bearer(tokens["compiler"]))

    with ThreadPoolExecutor(CONCURRENT) as pool:
        responses = list(pool.map(one, range(CONCURRENT)))
    assert [r.status_code for r in responses] == [200] * CONCURRENT, [r.text for r in responses if r.status_code != 200]
    assert len({r.json()["decision_id"] for r in responses}) == CONCURRENT

    head = client.get("/v1/audit/head", headers=auditor).json()
    assert head["count"] == before + CONCURRENT
    verification = client.get("/v1/audit/verify", headers=auditor).json()
    assert verification["ok"] is True, verification
    assert verification["count"] == before + CONCURRENT

    db = client.app.state.budget_rules.db  # type: ignore[attr-defined]
    with db.engine.connect() as connection:
        seqs = [row[0] for row in connection.execute(text("SELECT audit_seq FROM decisions ORDER BY audit_seq"))]
        prevs = connection.execute(text("SELECT count(DISTINCT prev_hash), count(*) FROM audit_records")).one()
    assert seqs[-CONCURRENT:] == list(range(before + 1, before + CONCURRENT + 1))
    assert prevs[0] == prevs[1]  # no fork: every record has its own predecessor
