"""Run schemathesis against a real server once per role: no undocumented status, no 5xx (issue 10, point 11).

    .venv/bin/python tests/reliability/schemathesis_roles.py [--max-examples 30] [--database-url URL]

Starts ``budget-rules serve`` on a fresh SQLite database (or the given URL) in production mode with a
random secret, mints one token per role (plus a run without any token), and runs for each::

    schemathesis run http://127.0.0.1:PORT/openapi.json -H "Authorization: Bearer …" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance \
        --phases examples,coverage,fuzzing --max-examples N --workers 1

Prints one line per role and exits 1 if any run failed. Simulation jobs are capped at one at a time
(``BUDGET_RULES_SIMULATION_MAX_RUNNING=1``: the rest are the documented 429). Not part of the pytest
suite: it takes minutes; the outcome is recorded in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server at {url} did not become ready")


def mint_tokens(env: dict[str, str]) -> dict[str, str]:
    code = (
        "import json, uuid\n"
        "from service.settings import Settings\n"
        "from service.storage.db import Database, upgrade_database\n"
        "from service.app.tokens import ROLES, create_token\n"
        "s = Settings(); upgrade_database(s.database_url); db = Database(s.database_url)\n"
        "with db.transaction() as session:\n"
        "    print(json.dumps({r: create_token(session, f'st-{r}-{uuid.uuid4().hex[:6]}', r,"
        " secret=s.audit_secret) for r in ROLES}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    import json

    tokens: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    return tokens


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="schemathesis-"))
    url_db = args.database_url or f"sqlite:///{folder / 'budget-rules.sqlite3'}"
    env = {
        **os.environ,
        "BUDGET_RULES_DATABASE_URL": url_db,
        "BUDGET_RULES_AUDIT_SECRET": secrets.token_urlsafe(48),
        "BUDGET_RULES_ENVIRONMENT": "production",
        "BUDGET_RULES_SIMULATION_MAX_RUNNING": "1",
        "BUDGET_RULES_RATE_LIMIT_PER_MINUTE": "0",
    }
    tokens = mint_tokens(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(folder / "server.log", "w")  # noqa: SIM115 (kept open for the server's lifetime)
    server = subprocess.Popen(
        [str(BIN / "budget-rules"), "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    failed = []
    try:
        wait_ready(base)
        for role, token in [("none", ""), *tokens.items()]:
            command = [str(BIN / "schemathesis"), "run", f"{base}/openapi.json", "--checks", CHECKS]
            command += ["--phases", "examples,coverage,fuzzing", "--max-examples", str(args.max_examples)]
            command += ["--workers", "1", "--suppress-health-check", "all", "--no-color"]
            if token:
                command += ["-H", f"Authorization: Bearer {token}"]
            started = time.monotonic()
            run = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True)  # its cache too
            (folder / f"schemathesis-{role}.txt").write_text(run.stdout + run.stderr, encoding="utf-8")
            summary = [line for line in run.stdout.splitlines() if "passed" in line or "failed" in line][-1:]
            print(f"{role:10} exit {run.returncode}  {time.monotonic() - started:6.1f} s  {' '.join(summary)}")
            if run.returncode != 0:
                failed.append(role)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    print(f"outputs in {folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
