"""Simulation jobs over HTTP: real worker processes on SQLite and PostgreSQL, no mocks.

A small job runs to the end (progress, result, self-contained report, audit records); a shipped
scenario runs on a stored dataset; invalid scenarios get every problem; a job killed with SIGKILL or
hung (SIGSTOP, no heartbeat) is failed with the reason and never shown as succeeded; a job whose
worker died while no server was up is failed by the start-up sweep; the role matrix.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.api import create_app
from service.app.simulations import SimulationConfig, dead_reason
from service.storage.db import utc_now
from service.storage.models import SimulationJobRow
from tests.api.conftest import bearer, make_settings, small_request

STALE = 4.0  # seconds without a heartbeat before a running job counts as dead (60 by default)
SWEEP = {"name": "gate", "axes": [{"parameter": "target-review-gate.min_score", "values": [60, 70, 80]}]}
TINY: dict[str, Any] = {
    "id": "tiny",
    "title": {"zh": "小规模", "en": "tiny"},
    "dataset": {"generate": {"projects": 200, "seed": 7}},
    "ruleset": "wuding-county",
    "verify": {"sample": 20},
    "sweeps": [SWEEP],
}
# Slow enough (several seconds: a 40,000-project county is generated first) to be caught running.
SLOW: dict[str, Any] = {
    **TINY,
    "id": "slow",
    "dataset": {"generate": {"projects": 40000, "seed": 11}},
    "sweeps": [
        {"name": "gate", "axes": [{"parameter": "target-review-gate.min_score", "from": 40, "to": 90, "step": 1}]}
    ],
}
READ_PATHS = ("", "/result", "/report")


@pytest.fixture(scope="module", autouse=True)
def _config(app: FastAPI) -> None:
    app.state.simulation_config = SimulationConfig(stale_after=STALE, max_running=10)


def _start(client: TestClient, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/simulations", json=body, headers=bearer(token))
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/v1/simulations/{job['job_id']}"
    return job


def _poll(
    client: TestClient, token: str, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> list[dict[str, Any]]:
    """Every state seen until ``until`` holds (fails after ``timeout`` seconds)."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/simulations/{job_id}", headers=bearer(token))
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if until(seen[-1]):
            return seen
        assert time.monotonic() < deadline, f"job {job_id} still {seen[-1]['state']}: {seen[-1]}"
        time.sleep(0.1)


def _ended(job: dict[str, Any]) -> bool:
    return job["state"] in ("succeeded", "failed")


def _audit_actions(app: FastAPI, job_id: str) -> list[str]:
    with app.state.budget_rules.db.engine.begin() as connection:
        rows = connection.execute(
            text("SELECT action FROM audit_records WHERE subject = :s ORDER BY seq"), {"s": job_id}
        ).all()
    return [r[0] for r in rows]


def _verify_chain(client: TestClient, tokens: dict[str, str]) -> None:
    result = client.get("/v1/audit/verify", headers=bearer(tokens["auditor"])).json()
    assert result["ok"] is True, result


@pytest.fixture
def kill_later() -> Iterator[list[int]]:
    """Worker pids to SIGKILL after the test, whatever happened (no process outlives a test)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def tiny_job(client: TestClient, tokens: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    job = _start(client, tokens["analyst"], TINY)
    return job, _poll(client, tokens["analyst"], job["job_id"], _ended)


# ------------------------------------------------------------------ a job from start to finish


def test_small_job_runs_to_success(
    app: FastAPI, client: TestClient, tokens: dict[str, str], tiny_job: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    job, seen = tiny_job
    assert job["state"] in ("queued", "running")
    assert job["created_by"]["role"] == "analyst"
    assert job["scenario"]["id"] == "tiny" and job["worker"]["pid"]
    final = seen[-1]
    assert final["state"] == "succeeded", final
    assert final["error"] is None
    assert final["progress"]["total"] == 4  # baseline + 3 sweep points
    assert final["progress"]["done"] == final["progress"]["total"]
    dones = [s["progress"]["done"] for s in seen]
    assert dones == sorted(dones)
    assert final["started_at"] and final["finished_at"]

    result = client.get(f"/v1/simulations/{job['job_id']}/result", headers=bearer(tokens["analyst"]))
    assert result.status_code == 200 and result.headers["content-type"].startswith("application/json")
    doc = result.json()
    assert doc["status"] == "succeeded" and doc["scenario"]["id"] == "tiny"
    assert doc["verification"]["mismatches"] == 0 and doc["verification"]["evaluations"] == 4
    points = doc["sweeps"][0]["points"]
    assert [p["values"]["target-review-gate.min_score"] for p in points] == ["60", "70", "80"]
    assert all(re.fullmatch(r"-?\d+\.\d\d", p["totals"]["recommended"]) for p in points)

    report = client.get(f"/v1/simulations/{job['job_id']}/report", headers=bearer(tokens["analyst"]))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in report.headers["content-security-policy"]
    html = report.text
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "<script" not in html.lower()
    refs = re.findall(r"""(?:src|href|action)\s*=\s*["']?([^"' >]*)""", html, flags=re.I)
    assert all(r.startswith(("data:", "#")) for r in refs), refs
    assert "url(" not in html
    assert set(re.findall(r"https?://[^\"' )]+", html)) <= {"http://www.w3.org/2000/svg"}  # a namespace, not a fetch

    assert _audit_actions(app, job["job_id"]) == ["simulation.start", "simulation.finish"]
    _verify_chain(client, tokens)


def test_list_shows_jobs(client: TestClient, tokens: dict[str, str], tiny_job: Any) -> None:
    job, _ = tiny_job
    page = client.get("/v1/simulations?state=succeeded", headers=bearer(tokens["auditor"])).json()
    assert job["job_id"] in [i["job_id"] for i in page["items"]]
    assert all(i["state"] == "succeeded" for i in page["items"]) and page["total"] >= 1
    bad = client.get("/v1/simulations?state=done", headers=bearer(tokens["analyst"]))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_parameters"


def test_shipped_scenario_on_a_stored_dataset(
    app: FastAPI, client: TestClient, tokens: dict[str, str], demo_request: dict[str, Any]
) -> None:
    dataset = client.post("/v1/datasets", json=small_request(demo_request), headers=bearer(tokens["compiler"]))
    assert dataset.status_code in (200, 201), dataset.text
    dataset_id = dataset.json()["id"]
    job = _start(client, tokens["analyst"], {"scenario": "gate-sweep", "dataset": {"dataset_id": dataset_id}})
    assert job["scenario"]["id"] == "gate-sweep"
    final = _poll(client, tokens["analyst"], job["job_id"], _ended)[-1]
    assert final["state"] == "succeeded", final
    assert final["progress"]["done"] == final["progress"]["total"] == 33  # baseline, gate-70, 31 points
    doc = client.get(f"/v1/simulations/{job['job_id']}/result", headers=bearer(tokens["auditor"])).json()
    assert doc["scenario"]["dataset"]["dataset_id"] == dataset_id
    assert doc["scenario"]["dataset"]["digest"].startswith("sha256:")
    assert doc["scenario"]["lines"] == len(small_request(demo_request)["projects"])
    assert len(doc["sweeps"][0]["points"]) == 31 and doc["variants"][0]["name"] == "gate-70"


# ------------------------------------------------------------------ refused


def test_invalid_scenario_lists_every_problem(client: TestClient, tokens: dict[str, str]) -> None:
    body = {
        **TINY,
        "id": "Not A Slug",
        "bogus": 1,
        "dataset": {"path": "demo/missing.json"},
        "variants": [{"name": "too-strict", "params": {"target-review-gate": {"min_score": 500}}}],
    }
    response = client.post("/v1/simulations", json=body, headers=bearer(tokens["analyst"]))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    locs = [tuple(d["loc"]) for d in error["details"]]
    assert ("id",) in locs and ("bogus",) in locs and ("dataset", "path") in locs
    assert error["message"] == f"the request has {len(locs)} problem(s)"

    # the schema is fine: every parameter value is checked against the ruleset, sweep points included
    body = {
        **TINY,
        "variants": [{"name": "too-strict", "params": {"target-review-gate": {"min_score": 500}}}],
        "sweeps": [
            {"name": "gate", "axes": [{"parameter": "target-review-gate.min_score", "values": [60, 101]}]},
            {"name": "off", "axes": [{"parameter": "no-such-policy.x", "values": [1]}]},
        ],
    }
    details = client.post("/v1/simulations", json=body, headers=bearer(tokens["analyst"])).json()["error"]["details"]
    assert [d["loc"] for d in details] == [["variants", 0], ["sweeps", 0], ["sweeps", 1]], details
    assert "500" in details[0]["message"] and "min_score=101" in details[1]["message"]

    for body, loc in (
        ({**TINY, "ruleset": "no-such-ruleset"}, ["ruleset"]),
        ({**TINY, "dataset": {"dataset_id": "no-such-dataset"}}, ["dataset", "dataset_id"]),
        ({**TINY, "dataset": {"dataset_id": "x", "path": "demo/wuding-county-2021.json"}}, ["dataset", "path"]),
        ({"scenario": "no-such-scenario"}, ["scenario"]),
        ({"scenario": "gate-sweep", "verify": {}}, ["verify"]),
    ):
        response = client.post("/v1/simulations", json=body, headers=bearer(tokens["analyst"]))
        assert response.status_code == 422, body
        assert loc in [d["loc"] for d in response.json()["error"]["details"]], response.json()
    bad_json = client.post("/v1/simulations", content=b"[1]", headers=bearer(tokens["analyst"]))
    assert bad_json.status_code == 422 and bad_json.json()["error"]["code"] == "invalid_json"
    # nothing refused was stored or audited
    page = client.get("/v1/simulations", headers=bearer(tokens["analyst"])).json()
    assert all(i["scenario_id"] in ("tiny", "gate-sweep", "slow") for i in page["items"])


# ------------------------------------------------------------------ workers that die


def test_result_before_the_end_is_409_and_a_killed_worker_fails_the_job(
    app: FastAPI, client: TestClient, tokens: dict[str, str], kill_later: list[int]
) -> None:
    job = _start(client, tokens["analyst"], SLOW)
    job_id = job["job_id"]
    kill_later.append(job["worker"]["pid"])
    for path in ("/result", "/report"):
        early = client.get(f"/v1/simulations/{job_id}{path}", headers=bearer(tokens["analyst"]))
        assert early.status_code == 409, early.text
        assert early.json()["error"]["code"] == "simulation_not_finished"
    seen = _poll(client, tokens["analyst"], job_id, lambda j: j["state"] != "queued")
    running = seen[-1]
    assert running["state"] == "running", running
    pid = running["worker"]["pid"]
    assert pid == job["worker"]["pid"]
    os.kill(pid, signal.SIGKILL)
    seen += _poll(client, tokens["analyst"], job_id, _ended, timeout=15)
    final = seen[-1]
    assert final["state"] == "failed"
    assert final["error"].startswith(f"worker process died (pid {pid})"), final["error"]
    assert all(s["state"] != "succeeded" for s in seen)
    late = client.get(f"/v1/simulations/{job_id}/result", headers=bearer(tokens["analyst"]))
    assert late.status_code == 409 and late.json()["error"]["code"] == "simulation_failed"
    assert "worker process died" in late.json()["error"]["message"]
    time.sleep(0.3)  # still failed later: nothing turns it into a success
    assert client.get(f"/v1/simulations/{job_id}", headers=bearer(tokens["analyst"])).json()["state"] == "failed"
    assert _audit_actions(app, job_id) == ["simulation.start", "simulation.fail"]
    _verify_chain(client, tokens)


def _running_pid(
    client: TestClient, tokens: dict[str, str], body: dict[str, Any], kill_later: list[int]
) -> tuple[str, int]:
    job = _start(client, tokens["analyst"], body)
    kill_later.append(job["worker"]["pid"])
    running = _poll(client, tokens["analyst"], job["job_id"], lambda j: j["state"] != "queued")[-1]
    assert running["state"] == "running", running
    return job["job_id"], running["worker"]["pid"]


def test_a_silent_worker_is_declared_dead_and_stopped(
    app: FastAPI, client: TestClient, tokens: dict[str, str], kill_later: list[int]
) -> None:
    job_id, pid = _running_pid(client, tokens, SLOW, kill_later)
    os.kill(pid, signal.SIGSTOP)  # alive but silent: no more heartbeats
    seen = _poll(client, tokens["auditor"], job_id, _ended, timeout=STALE + 15)
    final = seen[-1]
    assert final["state"] == "failed" and all(s["state"] != "succeeded" for s in seen)
    assert final["error"].startswith(f"worker process died (pid {pid}): no heartbeat for"), final["error"]
    deadline = time.monotonic() + 5  # the silent worker was killed (and reaped by its parent)
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"worker {pid} still exists")
    assert _audit_actions(app, job_id) == ["simulation.start", "simulation.fail"]


def test_start_up_sweep_fails_jobs_whose_worker_died(
    app: FastAPI, client: TestClient, tokens: dict[str, str], kill_later: list[int], database_url: str
) -> None:
    job_id, pid = _running_pid(client, tokens, SLOW, kill_later)
    os.kill(pid, signal.SIGSTOP)
    time.sleep(1.0)
    other = create_app(make_settings(database_url), warm=False)  # another server starting on the same database
    other.state.simulation_config = SimulationConfig(stale_after=0.5)
    with TestClient(other):
        pass
    with app.state.budget_rules.db.transaction() as session:
        row = session.get(SimulationJobRow, job_id)
        assert row is not None
        assert row.state == "failed" and row.error is not None, row
        assert row.error.startswith(f"worker process died (pid {pid}): no heartbeat for")
    assert _audit_actions(app, job_id) == ["simulation.start", "simulation.fail"]
    _verify_chain(client, tokens)


def test_dead_reason_checks_the_pid_on_this_host() -> None:
    import socket

    gone = subprocess.Popen(["true"])
    gone.wait()  # exited and reaped: its pid names no process
    now = utc_now()
    config = SimulationConfig(stale_after=60)

    def row(**values: Any) -> SimulationJobRow:
        base = {
            "id": "00000000-0000-0000-0000-000000000000",
            "created_at": now,
            "created_by": "a",
            "created_role": "analyst",
            "scenario_id": "s",
            "scenario_json": "{}",
            "state": "running",
            "host": socket.gethostname(),
            "heartbeat_at": now,
        }
        return SimulationJobRow(**{**base, **values})

    assert dead_reason(row(pid=gone.pid), config) == f"worker process died (pid {gone.pid})"
    # a live process that is not this job's worker (the pid was reused)
    assert dead_reason(row(pid=os.getpid()), config) == f"worker process died (pid {os.getpid()})"
    # another host: the pid means nothing here; only the heartbeat counts
    assert dead_reason(row(pid=gone.pid, host="elsewhere"), config) is None
    # ended jobs are never re-judged
    assert dead_reason(row(pid=gone.pid, state="succeeded"), config) is None
    # queued and never started: given the start-up grace, then failed
    old = utc_now().replace(year=2020)
    assert dead_reason(row(pid=None, state="queued", heartbeat_at=None), config) is None
    reason = dead_reason(row(pid=None, state="queued", heartbeat_at=None, created_at=old), config)
    assert reason is not None and reason.startswith("worker process never started")


# ------------------------------------------------------------------ who may do what


def test_role_matrix(client: TestClient, tokens: dict[str, str], tiny_job: Any) -> None:
    job_id = tiny_job[0]["job_id"]
    invalid = {"id": "x"}  # refused after authorization: 422 proves the role may start jobs
    for role, token in tokens.items():
        response = client.post("/v1/simulations", json=invalid, headers=bearer(token))
        assert response.status_code == (422 if role == "analyst" else 403), (role, response.text)
        for path in ("/v1/simulations", *(f"/v1/simulations/{job_id}{p}" for p in READ_PATHS)):
            response = client.get(path, headers=bearer(token))
            expected = 200 if role in ("analyst", "auditor") else 403
            assert response.status_code == expected, (role, path, response.text)
            if expected == 403:
                assert response.json()["error"]["code"] == "forbidden"
    for method, path in [("POST", "/v1/simulations"), ("GET", "/v1/simulations")] + [
        ("GET", f"/v1/simulations/{job_id}{p}") for p in READ_PATHS
    ]:
        response = client.request(method, path, json=invalid if method == "POST" else None)
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"
        bad = client.request(method, path, content=b"{", headers=bearer("not-a-token"))  # auth before the body
        assert bad.status_code == 401
    for p in READ_PATHS:
        missing = client.get(f"/v1/simulations/no-such-job{p}", headers=bearer(tokens["analyst"]))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_jobs_simulate_the_revision_stored_for_the_year_or_the_one_they_pin(app: FastAPI) -> None:
    from service.app.simulation_worker import stored_revision
    from service.policyfiles import Catalog

    db = app.state.budget_rules.db
    shipped = Catalog.load().compile("wuding-county")
    assert stored_revision(db, "wuding-county", 2021).digest == shipped.digest  # installed and active
    assert stored_revision(db, f"wuding-county@{shipped.revision}", 2021).digest == shipped.digest
    with pytest.raises(LookupError, match="no approved revision"):
        stored_revision(db, "wuding-county@000000000000", 2021)
    with pytest.raises(LookupError, match="active for fiscal year 2020"):
        stored_revision(db, "wuding-county", 2020)


def test_more_jobs_than_allowed_at_once_are_refused_with_429(
    app: FastAPI, client: TestClient, tokens: dict[str, str]
) -> None:
    from dataclasses import replace

    config = app.state.simulation_config
    app.state.simulation_config = replace(config, max_running=0)
    try:
        response = client.post("/v1/simulations", json=TINY, headers=bearer(tokens["analyst"]))
    finally:
        app.state.simulation_config = config
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "too_many_simulations"
    assert response.headers["retry-after"] == "30"
