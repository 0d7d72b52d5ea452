"""Hot swap: an activation reaches every worker without restart, requests in flight never fail, superseded
engines are freed (memory stays flat over 200 activations), and old decisions still replay identically.

"Workers" are two app instances on the same database, each with its own engines, as two uvicorn
worker processes would be.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service import audit
from service.api import create_app
from service.app import rulesets as service
from tests.api.conftest import (
    SECRET,
    bearer,
    dumps,
    extra_token,
    make_settings,
    shipped_revision,
    small_request,
    transition,
    upload_revision,
    variant,
)

MAINTAINER = audit.Actor(name="hot-maintainer", role="maintainer")
APPROVER = audit.Actor(name="hot-approver", role="approver")
ACTIVATIONS = 200
RSS_GROWTH_LIMIT = 30 * 1024 * 1024


@pytest.fixture(scope="module")
def worker2(database_url: str, client: TestClient) -> Iterator[TestClient]:
    """A second worker: its own app, engines and connection pool, the same database."""
    with TestClient(create_app(make_settings(database_url))) as second:
        yield second


@pytest.fixture(scope="module")
def revisions(app: FastAPI, client: TestClient, tokens: dict[str, str]) -> dict[str, str]:
    """A (shipped, active) and B (approved, not active)."""
    b = upload_revision(client, extra_token(app, "maintainer"), variant(11)).json()["revision"]
    assert transition(client, tokens["approver"], b, "approve").status_code == 200
    return {"A": shipped_revision(), "B": b}


def _swap(app: FastAPI, to: str, away: str) -> None:
    """Activate ``to`` (approved) in place of ``away``, then put ``away`` back on the approval path."""
    db = app.state.budget_rules.db
    service.activate(db, SECRET, APPROVER, "wuding-county", to, "swap", replaces=[away])
    service.propose(db, SECRET, MAINTAINER, "wuding-county", away, "swap back later")
    service.approve(db, SECRET, APPROVER, "wuding-county", away, "swap back later")


def _revision_used(client: TestClient, tokens: dict[str, str], body: bytes) -> str:
    response = client.post("/v1/recommendations", content=body, headers=bearer(tokens["compiler"]))
    assert response.status_code == 200, response.text
    revision: str = response.json()["ruleset"]["revision"]
    return revision


def _active(app: FastAPI) -> str:
    active = app.state.budget_rules.engines.active_revisions("wuding-county")
    assert len(active) == 1
    return active[0].revision


def test_a_second_worker_sees_an_activation_without_restart(
    app: FastAPI,
    client: TestClient,
    worker2: TestClient,
    tokens: dict[str, str],
    revisions: dict[str, str],
    demo_request: dict[str, Any],
) -> None:
    body = dumps(small_request(demo_request, departments=1))
    decision = client.post("/v1/recommendations", content=body, headers=bearer(tokens["compiler"])).json()
    assert _revision_used(worker2, tokens, body) == revisions["A"]
    response = transition(client, tokens["approver"], revisions["B"], "activate", replaces=[revisions["A"]])
    assert response.status_code == 200, response.text
    assert _revision_used(worker2, tokens, body) == revisions["B"]  # no restart, no signal
    assert _revision_used(client, tokens, body) == revisions["B"]

    # An old decision replays on its own revision A, byte for byte, in either worker.
    for worker in (client, worker2):
        report = worker.post(f"/v1/decisions/{decision['decision_id']}/replay", headers=bearer(tokens["auditor"]))
        assert report.status_code == 200, report.text
        assert report.json()["identical"] is True and report.json()["ruleset"]["revision"] == revisions["A"]

    # Put A back through the approval path, ready for the next tests.
    db = app.state.budget_rules.db
    service.propose(db, SECRET, MAINTAINER, "wuding-county", revisions["A"], "ready to swap back")
    service.approve(db, SECRET, APPROVER, "wuding-county", revisions["A"], "ready to swap back")


def test_requests_in_flight_never_fail_while_activating(
    app: FastAPI,
    client: TestClient,
    worker2: TestClient,
    tokens: dict[str, str],
    revisions: dict[str, str],
    demo_request: dict[str, Any],
) -> None:
    body = dumps(small_request(demo_request, departments=3))
    stop = threading.Event()
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def hammer(worker: TestClient) -> int:
        sent = 0
        while not stop.is_set():
            response = worker.post("/v1/recommendations", content=body, headers=bearer(tokens["compiler"]))
            with lock:
                seen.append((response.status_code, response.json().get("ruleset", {}).get("revision", response.text)))
            sent += 1
        return sent

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(hammer, w) for w in (client, worker2) * 3]
        current, other = _active(app), revisions["A"] if _active(app) == revisions["B"] else revisions["B"]
        for _ in range(12):
            _swap(app, other, current)
            current, other = other, current
            _wait_for_more(seen, lock, 4)  # requests run in both workers between every two swaps
        stop.set()
        sent = sum(f.result() for f in futures)
    assert sent == len(seen) >= 48
    assert [s for s in seen if s[0] != 200] == []
    assert {revision for _, revision in seen} <= {revisions["A"], revisions["B"]}


def _wait_for_more(seen: list[Any], lock: threading.Lock, more: int) -> None:
    with lock:
        target = len(seen) + more
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if len(seen) >= target:
                return
        time.sleep(0.005)
    pytest.fail("the request threads stalled")


def _rss() -> int:
    gc.collect()
    rss: int = psutil.Process().memory_info().rss
    return rss


def test_memory_stays_flat_over_200_activations(
    app: FastAPI,
    client: TestClient,
    worker2: TestClient,
    tokens: dict[str, str],
    revisions: dict[str, str],
    demo_request: dict[str, Any],
) -> None:
    body = dumps(small_request(demo_request, departments=1))
    current = _active(app)
    other = revisions["A"] if current == revisions["B"] else revisions["B"]

    def cycle() -> None:
        nonlocal current, other
        _swap(app, other, current)
        current, other = other, current
        for worker in (client, worker2):  # each worker loads the new engine and frees the old one
            assert _revision_used(worker, tokens, body) == current

    for _ in range(20):  # warm up: caches, pools and allocator arenas reach their steady size
        cycle()
    before = _rss()
    for _ in range(ACTIVATIONS):
        cycle()
    growth = _rss() - before
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.1f} MB over {ACTIVATIONS} activations"
    for worker in (client, worker2):
        engines = worker.app.state.budget_rules.engines  # type: ignore[attr-defined]
        assert engines.open_matchers() == 2  # the active wuding-county and disclosure-compliance: no leftovers
