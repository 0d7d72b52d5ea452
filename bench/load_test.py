"""Load test (issue 6, point 4): N concurrent clients for T seconds against a real server on PostgreSQL.

Run ``.venv/bin/python -m bench.load_test [--clients 16] [--duration 60] [--workers 2] [--json out.json]``.

What it does:

1. a fresh schema ``load_<random>`` in the PostgreSQL server at ``BUDGET_RULES_TEST_PG`` (default
   ``postgresql://postgres@127.0.0.1:5432/test``) or ``--database-url``; migrations applied, one
   compiler and one auditor token created in-process (like ``budget-rules token create``);
2. the real service, ``uvicorn service.api:app_from_environment --factory --workers W``, on a free
   127.0.0.1 port (rate limit off: one compiler token speaks for every simulated client);
3. locust, headless, ``--clients`` users with no think time, each mixing (by weight)
   ``POST /v1/recommendations`` 4 (a 3-department demo request, ~20 lines), ``POST
   /v1/decisions/{id}/replay`` 2, ``GET /v1/decisions`` 2, ``GET /v1/decisions/{id}`` 1,
   ``GET /v1/audit/head`` 1; any status but 200 counts as an error;
4. afterwards: ``GET /v1/audit/verify`` must be ok; the decisions table must hold exactly one row per
   successful recommendation response (plus the one seed decision), each with its audit record
   (``audit_records.seq = decisions.audit_seq``, action ``recommendation``, subject = the decision id);
   the server's log must contain neither a token nor the audit secret;
5. prints (and with ``--json`` writes) the figures: requests, errors, req/s, p50/p95/p99/max per
   endpoint, and the checks. Exit status 0 only when every check holds and there were zero errors.

The schema and the work folder (server log, locust CSV) are removed at the end (``--keep`` keeps
them). Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "wuding-county-2021.json"
PG_SERVER = os.environ.get("BUDGET_RULES_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "load-test-audit-secret-" + uuid.uuid4().hex
WEIGHTS = {"recommend": 4, "replay": 2, "list": 2, "get": 1, "head": 1}
REC = "POST /v1/recommendations"


# ------------------------------------------------------------------------------------------ locust side
# Imported by locust (``-f bench/load_test.py``) with BR_LOAD_LOCUST=1: only then are the users defined,
# so importing this module elsewhere never pulls in gevent.

if os.environ.get("BR_LOAD_LOCUST") == "1":
    from locust import FastHttpUser, events, task

    _COMPILER = {"Authorization": "Bearer " + os.environ["BR_LOAD_COMPILER"], "Content-Type": "application/json"}
    _AUDITOR = {"Authorization": "Bearer " + os.environ["BR_LOAD_AUDITOR"]}
    _BODY = Path(os.environ["BR_LOAD_REQUEST"]).read_bytes()
    _SEED = os.environ["BR_LOAD_SEED_DECISION"]
    # Our own tally, complete to the last response (locust's CSV can miss requests finishing at the stop).
    _RECEIVED: list[str] = []  # every decision id a 200 response carried
    _TALLY: dict[str, list[int]] = {}  # name -> [responses, errors]

    @events.request.add_listener
    def _count(name: str, exception: Any = None, **_: Any) -> None:
        tally = _TALLY.setdefault(name, [0, 0])
        tally[0] += 1
        tally[1] += 1 if exception else 0

    @events.quitting.add_listener
    def _write_received(**_: Any) -> None:
        document = {"received": _RECEIVED, "tally": _TALLY}
        Path(os.environ["BR_LOAD_RECEIVED"]).write_text(json.dumps(document), encoding="utf-8")

    class BudgetClient(FastHttpUser):  # type: ignore[misc]
        """One office: recommendations (compiler) interleaved with replays and reads (auditor)."""

        def on_start(self) -> None:
            self.decisions: list[str] = [_SEED]

        def _expect_200(self, response: Any) -> bool:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200] if response.text else ''}")
                return False
            response.success()
            return True

        @task(WEIGHTS["recommend"])
        def recommend(self) -> None:
            with self.client.post(
                "/v1/recommendations", data=_BODY, headers=_COMPILER, name=REC, catch_response=True
            ) as response:
                if self._expect_200(response):
                    _RECEIVED.append(response.json()["decision_id"])
                    self.decisions.append(response.json()["decision_id"])
                    del self.decisions[:-50]

        @task(WEIGHTS["replay"])
        def replay(self) -> None:
            decision = random.choice(self.decisions)
            with self.client.post(
                f"/v1/decisions/{decision}/replay",
                headers=_AUDITOR,
                name="POST /v1/decisions/{id}/replay",
                catch_response=True,
            ) as response:
                if self._expect_200(response) and not response.json().get("identical"):
                    response.failure("replay not identical")

        @task(WEIGHTS["list"])
        def list_decisions(self) -> None:
            with self.client.get(
                "/v1/decisions?limit=20", headers=_AUDITOR, name="GET /v1/decisions", catch_response=True
            ) as response:
                self._expect_200(response)

        @task(WEIGHTS["get"])
        def get_decision(self) -> None:
            decision = random.choice(self.decisions)
            with self.client.get(
                f"/v1/decisions/{decision}", headers=_AUDITOR, name="GET /v1/decisions/{id}", catch_response=True
            ) as response:
                self._expect_200(response)

        @task(WEIGHTS["head"])
        def audit_head(self) -> None:
            with self.client.get(
                "/v1/audit/head", headers=_AUDITOR, name="GET /v1/audit/head", catch_response=True
            ) as response:
                self._expect_200(response)


# ------------------------------------------------------------------------------------------ orchestration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def demo_request(departments: int = 3) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["departments"] = data["departments"][:departments]
    kept = {d["department_id"] for d in data["departments"]}
    data["projects"] = [p for p in data["projects"] if p["department_id"] in kept]
    data["envelope"] = "5000000.00"
    return data


def sqlalchemy_url(server: str, schema: str) -> str:
    base = server.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{schema}"


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "service.api:app_from_environment", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "info",
    ]  # fmt: skip
    handle = log.open("ab")
    return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(port: int, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not become ready in {timeout:.0f} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def read_stats(prefix: Path) -> dict[str, dict[str, float]]:
    out = {}
    with (prefix.parent / f"{prefix.name}_stats.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = row["Name"] if row["Name"] != "Aggregated" else "all"
            out[name] = {
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "max_ms": round(float(row["Max Response Time"]), 1),
            }
    return out


def database_checks(url: str) -> dict[str, Any]:
    """Decisions, their audit records, and the chain, read straight from the database."""
    from sqlalchemy import text

    from service.storage.db import Database

    db = Database(url)
    try:
        with db.engine.connect() as connection:
            decisions = connection.execute(text("SELECT count(*) FROM decisions")).scalar_one()
            orphans = connection.execute(
                text(
                    "SELECT count(*) FROM decisions d LEFT JOIN audit_records a ON a.seq = d.audit_seq "
                    "AND a.action = 'recommendation' AND a.subject = d.id AND a.chain_hash = d.chain_hash "
                    "WHERE a.seq IS NULL"
                )
            ).scalar_one()
            recorded = connection.execute(
                text("SELECT count(*) FROM audit_records WHERE action = 'recommendation'")
            ).scalar_one()
            replays = connection.execute(
                text("SELECT count(*) FROM audit_records WHERE action = 'replay'")
            ).scalar_one()
    finally:
        db.dispose()
    return {
        "decisions": int(decisions),
        "decisions_without_audit_record": int(orphans),
        "recommendation_audit_records": int(recorded),
        "replay_audit_records": int(replays),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    import psycopg

    from service.app.tokens import create_token
    from service.storage.db import Database, upgrade_database

    schema = None
    if args.database_url:
        url = args.database_url
    else:
        schema = f"load_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        url = sqlalchemy_url(PG_SERVER, schema)
    work = Path(tempfile.mkdtemp(prefix="budget-rules-load-"))
    server = None
    try:
        upgrade_database(url)
        db = Database(url)
        with db.transaction() as session:
            compiler = create_token(session, f"load-compiler-{uuid.uuid4().hex[:6]}", "compiler", secret=SECRET)
            auditor = create_token(session, f"load-auditor-{uuid.uuid4().hex[:6]}", "auditor", secret=SECRET)
        db.dispose()
        port = free_port()
        env = {
            **os.environ,
            "BUDGET_RULES_DATABASE_URL": url,
            "BUDGET_RULES_AUDIT_SECRET": SECRET,
            "BUDGET_RULES_ENVIRONMENT": "load-test",
            "BUDGET_RULES_RATE_LIMIT_PER_MINUTE": "0",
        }
        server_log = work / "server.log"
        server = start_server(env, port, args.workers, server_log)
        wait_ready(port)
        request_file = work / "request.json"
        request_file.write_text(json.dumps(demo_request(args.departments), ensure_ascii=False), encoding="utf-8")
        seed = httpx.post(
            f"http://127.0.0.1:{port}/v1/recommendations",
            content=request_file.read_bytes(),
            headers={"Authorization": f"Bearer {compiler}"},
            timeout=60,
        )
        seed.raise_for_status()
        prefix = work / "locust"
        locust_env = {
            **os.environ,
            "BR_LOAD_LOCUST": "1",
            "BR_LOAD_COMPILER": compiler,
            "BR_LOAD_AUDITOR": auditor,
            "BR_LOAD_REQUEST": str(request_file),
            "BR_LOAD_SEED_DECISION": seed.json()["decision_id"],
            "BR_LOAD_RECEIVED": str(work / "received.json"),
        }
        started = time.monotonic()
        locust = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(Path(__file__).resolve()),
                "--headless",
                "--users",
                str(args.clients),
                "--spawn-rate",
                str(args.clients),
                "--run-time",
                f"{args.duration}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(prefix),
                "--only-summary",
                "--stop-timeout",
                "30",
                "--exit-code-on-error",
                "0",
                "--loglevel",
                "WARNING",
            ],
            env=locust_env,
            capture_output=True,
            text=True,
            timeout=args.duration + 120,
            check=False,
        )
        wall = time.monotonic() - started
        if locust.returncode != 0:
            raise RuntimeError(f"locust failed ({locust.returncode}): {locust.stderr[-2000:]}")
        stats = read_stats(prefix)
        verify = httpx.get(
            f"http://127.0.0.1:{port}/v1/audit/verify", headers={"Authorization": f"Bearer {auditor}"}, timeout=120
        ).json()
        stop_server(server)
        checks = database_checks(url)
        own = json.loads((work / "received.json").read_text(encoding="utf-8"))
        received, tally = own["received"], own["tally"]
        responses = sum(n for n, _ in tally.values())
        errors = sum(e for _, e in tally.values())
        successful = tally.get(REC, [0, 0])[0] - tally.get(REC, [0, 0])[1]
        log_text = server_log.read_text(encoding="utf-8", errors="replace")
        leaked = [name for name, value in (("compiler", compiler), ("auditor", auditor), ("secret", SECRET))
                  if value in log_text]  # fmt: skip
        result = {
            "clients": args.clients,
            "duration_s": args.duration,
            "wall_s": round(wall, 1),
            "workers": args.workers,
            "lines_per_request": len(demo_request(args.departments)["projects"]),
            "responses": responses,
            "errors": errors,
            "responses_per_s": round(responses / args.duration, 1),
            "by_endpoint": {name: {"responses": n, "errors": e} for name, (n, e) in sorted(tally.items())},
            "latency_ms": stats,
            "audit_verify": verify,
            "successful_recommendations": successful,
            "decision_ids_received": len(set(received)),
            **checks,
            "secrets_in_server_log": leaked,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        result["ok"] = bool(
            errors == 0
            and stats["all"]["errors"] == 0
            and successful > 0
            and len(set(received)) == successful
            and verify.get("ok") is True
            and checks["decisions"] == successful + 1  # + the seed decision
            and checks["recommendation_audit_records"] == checks["decisions"]
            and checks["decisions_without_audit_record"] == 0
            and not leaked
        )
        return result
    finally:
        if server is not None:
            stop_server(server)
        if schema and not args.keep:
            with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5) as connection:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--departments", type=int, default=3, help="departments of the demo request sent")
    parser.add_argument("--database-url", help="an existing (migrated or empty) database instead of a fresh schema")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the schema")
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
