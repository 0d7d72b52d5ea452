"""Latency and throughput of ``POST /v1/recommendations`` over real HTTP, with the audit write to PostgreSQL.

The server is the real one: ``budget-rules serve`` in a subprocess on a free 127.0.0.1 port, with
``BUDGET_RULES_DATABASE_URL`` pointing at a dedicated database (default ``bench_http``) that is dropped
and created again at start. No other database is written to: the ``--database`` URL is only used to
connect to the server and issue ``DROP DATABASE`` / ``CREATE DATABASE`` for the bench database (the
script refuses to run when the two names are the same). Tokens come from ``budget-rules token create``
with the same environment.

Measured, each against a baseline in this process:

1. *Latency*: a warm-up, then ``--requests`` sequential POSTs of a 100-line request over one
   keep-alive ``httpx.Client``: p50/p90/p99/max in ms. Interleaved with them (one after each POST),
   the in-process decision core on the same request: ``parse_request(raw)`` + ``recommend(...)`` +
   ``json.dumps(result)`` (durable-rules, the same ruleset). Ratio = HTTP median / in-process median;
   the difference is what HTTP, JSON parsing, storage and the audit chain add.
2. *Throughput*: 8 client threads (each its own ``httpx.Client``) share a fixed number of requests
   (bounded by ``--max-seconds``) against a server with 1, then 2, ... worker processes (the server
   is restarted for every worker count, and the counts take turns over ``--rounds`` rounds).
   req/s, lines/s, p50/p99; ratio = median req/s with N workers / median req/s with the first count.
3. *Large request*: ``--big-lines`` (10,000) lines, end to end (encode nothing: the body is encoded
   once before; the time is from sending to the last byte received), interleaved with the in-process
   core on the same request; the body size is printed against the server's ``max_body_bytes``.

Afterwards ``GET /v1/audit/verify`` (auditor token) must be ok, the audit chain must have grown by
exactly the number of successful recommendations, and ``GET /v1/decisions`` must count them too.

The machine has 2 shared cores: the client threads, the server workers and PostgreSQL compete for
them, so the throughput ratio is bounded well below the worker count.

Usage::

    python -m bench.http_latency [--requests 300] [--workers 1,2] [--rounds 2]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test] [--bench-db bench_http]
        [--concurrency 8] [--concurrent-requests 400] [--max-seconds 60] [--big-lines 10000] [--big-repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from service.demo import generate_request
from service.domain.decision import Matcher, recommend
from service.domain.records import parse_request
from service.domain.ruleset import CompiledRuleset
from service.engine import make_matcher
from service.policyfiles import Catalog
from service.settings import Settings

RULESET = "wuding-county"
REPO_ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("budget-rules")
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOST = "127.0.0.1"
TARGET_P99_MS = 150.0
TARGET_BIG_SECONDS = 5.0
READY_TIMEOUT = 180.0
REQUEST_TIMEOUT = 120.0
VERIFY_TIMEOUT = 900.0

Raw = dict[str, Any]


# ------------------------------------------------------------------------------------------ data


def subset_request(lines: int, seed: int) -> Raw:
    """A demo county request cut down to exactly ``lines`` lines (fewer than a whole county has).

    ``generate_request`` always has the basic lines of all 96 units (177 lines at least), so a smaller
    request takes whole units in order (their basic lines and their projects) until ``lines`` lines
    are reached. The departments are those the lines name, and the envelope shrinks by the same
    share as the requested amounts, so the lines still compete for less money than they ask for.
    """
    full = generate_request(n_projects=99, seed=seed)
    by_unit: dict[str, list[Raw]] = {}
    for line in full["projects"]:
        by_unit.setdefault(line["department_id"], []).append(line)
    chosen: list[Raw] = []
    for department in full["departments"]:
        chosen.extend(by_unit.get(department["department_id"], []))
        if len(chosen) >= lines:
            break
    chosen = chosen[:lines]
    units = {line["department_id"] for line in chosen}
    total = sum(Decimal(line["requested"]) for line in full["projects"])
    kept = sum(Decimal(line["requested"]) for line in chosen)
    envelope = (Decimal(full["envelope"]) * kept / total).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return {
        **full,
        "envelope": str(envelope),
        "departments": [d for d in full["departments"] if d["department_id"] in units],
        "projects": chosen,
    }


def exact_request(lines: int, seed: int) -> Raw:
    """A demo request with exactly ``lines`` lines: a subset of one county, or whole counties adjusted."""
    if lines < 177:
        return subset_request(lines, seed)
    n_projects = lines
    raw: Raw = generate_request(n_projects=n_projects, seed=seed)
    for _ in range(4):  # basic lines do not depend on n_projects within one county count
        got = len(raw["projects"])
        if got == lines:
            break
        n_projects = max(1, n_projects + lines - got)
        raw = generate_request(n_projects=n_projects, seed=seed)
    if len(raw["projects"]) != lines:
        raise SystemExit(f"could not make a request of exactly {lines} lines")
    return raw


def encode(raw: Raw) -> bytes:
    return json.dumps(raw, ensure_ascii=False).encode("utf-8")


# ----------------------------------------------------------------------------------- the baseline


class InProcess:
    """The decision core in this process, the way bench/core_throughput.py times it (durable-rules)."""

    def __init__(self) -> None:
        self.compiled: CompiledRuleset = Catalog.load().compile(RULESET)
        self.matcher: Matcher = make_matcher(self.compiled, "durable-rules")

    def run(self, raw: Raw) -> float:
        gc.collect()
        start = time.perf_counter()
        request = parse_request(raw)
        result = recommend(request, self.compiled, self.matcher)
        json.dumps(result, ensure_ascii=False)
        return time.perf_counter() - start

    def close(self) -> None:
        close = getattr(self.matcher, "close", None)
        if close is not None:
            close()


# ------------------------------------------------------------------------------ database, server


def bench_database_url(admin_url: str, bench_db: str) -> str:
    url = make_url(admin_url)
    if url.get_backend_name() != "postgresql":
        raise SystemExit(f"--database must be a PostgreSQL URL, not {url.get_backend_name()}")
    if url.host not in (None, "127.0.0.1", "localhost"):
        raise SystemExit("--database must be on 127.0.0.1")
    if url.database == bench_db:
        raise SystemExit(f"--bench-db {bench_db!r} must differ from the database of --database (it is dropped)")
    return url.set(database=bench_db).render_as_string(hide_password=False)


def psycopg_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def recreate_database(admin_url: str, bench_db: str) -> None:
    """DROP (if there) and CREATE the bench database; nothing else on the server is touched."""
    with psycopg.connect(psycopg_dsn(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(bench_db)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(bench_db)))


def database_size_mb(bench_url: str) -> float:
    with psycopg.connect(psycopg_dsn(bench_url)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return (row[0] if row else 0) / 2**20


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(CLI), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"budget-rules {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


class Server:
    """``budget-rules serve`` in its own process group, its output in a log file."""

    def __init__(self, env: dict[str, str], workers: int, log_dir: Path) -> None:
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = log_dir / f"serve-{workers}w-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(CLI), "serve", "--host", HOST, "--port", str(self.port), "--workers", str(workers)],
            env=env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started = time.perf_counter()

    def wait_ready(self) -> float:
        """Wait for /readyz 200 and one "Application startup complete" per worker; returns seconds."""
        deadline = self.started + READY_TIMEOUT
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise SystemExit(f"the server exited ({self.proc.returncode}); see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/readyz").status_code == 200 and self._started_workers() >= self.workers:
                        return time.perf_counter() - self.started
                time.sleep(0.2)
        raise SystemExit(f"the server was not ready within {READY_TIMEOUT:.0f} s; see {self.log_path}")

    def _started_workers(self) -> int:
        return self.log_path.read_bytes().count(b"Application startup complete")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # the group this script started
                self.proc.wait(timeout=10)
        self._log.close()


@contextlib.contextmanager
def running(env: dict[str, str], workers: int, log_dir: Path) -> Iterator[Server]:
    server = Server(env, workers, log_dir)
    try:
        seconds = server.wait_ready()
        print(f"  server with {workers} worker(s) ready on port {server.port} in {seconds:.1f} s", file=sys.stderr)
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------------------------- measuring


@dataclass
class Tally:
    """Every recommendation POST made, so the audit chain can be checked against it."""

    ok: int = 0
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: httpx.Response | None, error: str | None = None) -> bool:
        with self.lock:
            if response is not None and response.status_code == 200:
                self.ok += 1
                return True
            if len(self.failed) < 20:
                self.failed.append(error or f"{response.status_code if response else '?'} {_snippet(response)}")
            else:
                self.failed.append("")
            return False


def _snippet(response: httpx.Response | None) -> str:
    return response.text[:200] if response is not None else ""


def post(client: httpx.Client, token: str, body: bytes, tally: Tally) -> tuple[float, httpx.Response | None]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start = time.perf_counter()
    try:
        response = client.post("/v1/recommendations", content=body, headers=headers)
        response.read()
    except httpx.HTTPError as error:
        tally.record(None, f"{type(error).__name__}: {error}")
        return time.perf_counter() - start, None
    elapsed = time.perf_counter() - start
    tally.record(response)
    return elapsed, response


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def check_lines(response: httpx.Response | None, lines: int) -> None:
    if response is None or response.status_code != 200:
        raise SystemExit(f"the first recommendation failed: {_snippet(response)}")
    got = len(response.json()["lines"])
    if got != lines:
        raise SystemExit(f"the result has {got} lines, expected {lines}")


@dataclass
class Latency:
    http: list[float]
    baseline: list[float]
    response_bytes: int


def measure_latency(
    server: Server, token: str, raw: Raw, body: bytes, requests: int, warmup: int, core: InProcess, tally: Tally
) -> Latency:
    http: list[float] = []
    baseline: list[float] = []
    with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client:
        _, first = post(client, token, body, tally)
        check_lines(first, len(raw["projects"]))
        size = len(first.content) if first is not None else 0
        for _ in range(warmup):
            post(client, token, body, tally)
            core.run(raw)
        for _ in range(requests):
            elapsed, response = post(client, token, body, tally)
            if response is not None and response.status_code == 200:
                http.append(elapsed)
            baseline.append(core.run(raw))
    return Latency(http, baseline, size)


@dataclass
class Throughput:
    workers: int
    round: int
    ok: int
    failed: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def measure_throughput(
    server: Server,
    token: str,
    body: bytes,
    concurrency: int,
    total: int,
    max_seconds: float,
    tally: Tally,
    round_no: int,
) -> Throughput:
    """``concurrency`` threads, each its own keep-alive client, take requests from one shared budget."""
    lock = threading.Lock()
    remaining = [total]
    latencies: list[float] = []
    counts = {"ok": 0, "failed": 0}
    barrier = threading.Barrier(concurrency + 1)
    clients = [httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT) for _ in range(concurrency)]
    for client in clients:  # open every connection and let every worker see traffic before timing
        post(client, token, body, tally)
    deadline = [0.0]

    def worker(client: httpx.Client) -> None:
        barrier.wait()
        while True:
            with lock:
                if remaining[0] <= 0 or time.perf_counter() > deadline[0]:
                    return
                remaining[0] -= 1
            elapsed, response = post(client, token, body, tally)
            with lock:
                if response is not None and response.status_code == 200:
                    counts["ok"] += 1
                    latencies.append(elapsed)
                else:
                    counts["failed"] += 1

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + max_seconds
    start = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join(timeout=max_seconds + REQUEST_TIMEOUT + 10)
    seconds = time.perf_counter() - start
    for client in clients:
        client.close()
    return Throughput(server.workers, round_no, counts["ok"], counts["failed"], seconds, latencies)


@dataclass
class Big:
    http: list[float]
    baseline: list[float]
    request_bytes: int
    response_bytes: int


def measure_big(server: Server, token: str, raw: Raw, body: bytes, repeat: int, core: InProcess, tally: Tally) -> Big:
    http: list[float] = []
    baseline: list[float] = []
    response_bytes = 0
    with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client:
        for i in range(repeat):
            baseline.append(core.run(raw))
            elapsed, response = post(client, token, body, tally)
            if i == 0:
                check_lines(response, len(raw["projects"]))
                response_bytes = len(response.content) if response is not None else 0
            if response is not None and response.status_code == 200:
                http.append(elapsed)
    return Big(http, baseline, len(body), response_bytes)


# --------------------------------------------------------------------------------- verification


def get_json(server: Server, token: str, path: str, timeout: float = 60.0) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    response = httpx.get(server.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
    data: dict[str, Any] = response.json()
    return data, elapsed


# ------------------------------------------------------------------------------------- printing


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def print_machine(args: argparse.Namespace) -> None:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    code = f"commit {commit}{' with uncommitted changes' if dirty else ''}" if commit else "not a git checkout"
    with psycopg.connect(psycopg_dsn(args.database)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    pg = row[0] if row else "?"
    print(f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.platform()}")
    print(f"PostgreSQL {pg} at 127.0.0.1 (database {args.bench_db}, dropped and created at start)")
    print(f"code: {REPO_ROOT} ({code})")
    print(f"httpx {httpx.__version__}; server: budget-rules serve (uvicorn), environment=production")
    print("command: python -m bench.http_latency " + " ".join(sys.argv[1:]))
    print_load("at start")


def print_load(when: str) -> None:
    """The load average: other jobs on these 2 shared cores show up here (and in every figure)."""
    one, five, fifteen = os.getloadavg()
    print(f"load average {when}: {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} CPUs")


def print_latency(lat: Latency, lines: int, warmup: int) -> None:
    h, b = lat.http, lat.baseline
    b50 = statistics.median(b)
    print()
    print(
        f"1. Latency: {lines}-line request, sequential, one keep-alive client, 1 worker "
        f"({len(h)} requests after {warmup} warm-up; response {lat.response_bytes / 1024:.0f} KiB)"
    )
    print("                                   p50 ms   p90 ms   p99 ms   max ms   ratio p50")
    print(
        f"   in-process core (baseline)   {ms(b50)} {ms(percentile(b, 90))} {ms(percentile(b, 99))} "
        f"{ms(max(b))}       1.00"
    )
    print(
        f"   HTTP POST + audit write      {ms(statistics.median(h))} {ms(percentile(h, 90))} "
        f"{ms(percentile(h, 99))} {ms(max(h))}   {statistics.median(h) / b50:8.2f}"
    )
    print(
        f"   ratio at p99: {percentile(h, 99) / percentile(b, 99):.2f}; "
        f"HTTP, storage and audit add {ms(statistics.median(h) - b50).strip()} ms at the median"
    )


def print_throughput(runs: Sequence[Throughput], worker_counts: Sequence[int], concurrency: int, lines: int) -> None:
    print()
    print(f"2. Throughput: {concurrency} concurrent clients (threads, one keep-alive client each), {lines} lines each")
    print("   workers round   ok  fail  seconds    req/s  lines/s   p50 ms   p99 ms")
    for r in runs:
        print(
            f"   {r.workers:7d} {r.round:5d} {r.ok:4d} {r.failed:5d} {r.seconds:8.2f} {r.per_second:8.1f} "
            f"{r.per_second * lines:8.0f} {ms(percentile(r.latencies, 50))} {ms(percentile(r.latencies, 99))}"
        )
    medians = {w: statistics.median([r.per_second for r in runs if r.workers == w]) for w in worker_counts}
    base = medians[worker_counts[0]]
    print(f"   median req/s per worker count, ratio to {worker_counts[0]} worker(s):")
    for w in worker_counts:
        lat = [x for r in runs if r.workers == w for x in r.latencies]
        rate = medians[w]
        print(
            f"   {w:7d} workers {rate:8.1f} req/s {rate * lines:8.0f} lines/s  ratio {rate / base:5.2f}"
            f"   p50 {ms(percentile(lat, 50)).strip()} ms  p99 {ms(percentile(lat, 99)).strip()} ms"
        )


def print_big(big: Big, lines: int, max_body: int) -> None:
    h, b = big.http, big.baseline
    print()
    print(f"3. Large request: {lines:,} lines, end to end, 1 worker ({len(h)} runs, each after an in-process run)")
    print(
        f"   request body {big.request_bytes / 2**20:.2f} MiB of max_body_bytes {max_body / 2**20:.0f} MiB "
        f"({'not hit' if big.request_bytes < max_body else 'HIT'}); response {big.response_bytes / 2**20:.2f} MiB"
    )
    print("                                  median s    max s   ratio")
    print(f"   in-process core (baseline)   {statistics.median(b):9.3f} {max(b):8.3f}    1.00")
    if h:
        print(
            f"   HTTP POST + audit write      {statistics.median(h):9.3f} {max(h):8.3f} "
            f"{statistics.median(h) / statistics.median(b):7.2f}"
        )


# ------------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.http_latency", description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=300, help="sequential requests for the latency (default 300)")
    p.add_argument("--warmup", type=int, default=20, help="untimed requests first (default 20)")
    p.add_argument("--workers", default="1,2", help="worker counts for the throughput, comma-separated")
    p.add_argument("--rounds", type=int, default=2, help="throughput rounds; the worker counts take turns")
    p.add_argument("--database", default=DEFAULT_DATABASE, help="PostgreSQL URL used only to (re)create --bench-db")
    p.add_argument("--bench-db", default="bench_http", help="the database dropped, created and used (bench_http)")
    p.add_argument("--lines", type=int, default=100, help="lines per request for latency and throughput (100)")
    p.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--concurrent-requests", type=int, default=400, help="requests per throughput run (default 400)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="time bound of one throughput run (default 60)")
    p.add_argument("--big-lines", type=int, default=10_000, help="lines of the large request (10000; 0 skips)")
    p.add_argument("--big-repeat", type=int, default=3, help="runs of the large request (default 3)")
    p.add_argument("--seed", type=int, default=2021)
    args = p.parse_args(argv)
    args.worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    bounds = [
        (args.requests, 1, 10_000, "--requests"),
        (args.warmup, 0, 1_000, "--warmup"),
        (args.rounds, 1, 10, "--rounds"),
        (args.concurrency, 1, 64, "--concurrency"),
        (args.concurrent_requests, 1, 100_000, "--concurrent-requests"),
        (args.big_repeat, 1, 10, "--big-repeat"),
        (args.lines, 1, 100_000, "--lines"),
        (args.big_lines, 0, 100_000, "--big-lines"),
    ]
    for value, low, high, name in bounds:
        if not low <= value <= high:
            p.error(f"{name} must be between {low} and {high}")
    if not args.worker_counts or any(not 1 <= w <= 16 for w in args.worker_counts):
        p.error("--workers must list counts between 1 and 16")
    if not 1 <= args.max_seconds <= 600:
        p.error("--max-seconds must be between 1 and 600")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    bench_url = bench_database_url(args.database, args.bench_db)
    print_machine(args)
    recreate_database(args.database, args.bench_db)
    env = {
        **os.environ,
        "BUDGET_RULES_DATABASE_URL": bench_url,
        "BUDGET_RULES_AUDIT_SECRET": secrets.token_hex(32),
        "BUDGET_RULES_ENVIRONMENT": "production",
        # the server and the CLI run the same source tree as this script (e.g. a clean export of a commit)
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    env.pop("BUDGET_RULES_WORKERS", None)
    max_body = int(env.get("BUDGET_RULES_MAX_BODY_BYTES", Settings.model_fields["max_body_bytes"].default))

    raw = exact_request(args.lines, args.seed)
    body = encode(raw)
    big_raw = exact_request(args.big_lines, args.seed) if args.big_lines else None
    big_body = encode(big_raw) if big_raw else b""
    core = InProcess()
    core.run(raw)  # first-call costs out of the baseline
    tally = Tally()
    runs: list[Throughput] = []
    first = args.worker_counts[0]
    log_dir = Path(tempfile.mkdtemp(prefix="bench_http_"))
    print(f"  server logs in {log_dir}", file=sys.stderr)
    try:
        with running(env, 1, log_dir) as server:
            compiler = cli(env, "token", "create", "--name", "bench-compiler", "--role", "compiler")
            auditor = cli(env, "token", "create", "--name", "bench-auditor", "--role", "auditor")
            head_before, _ = get_json(server, auditor, "/v1/audit/head")
            print("  latency ...", file=sys.stderr)
            latency = measure_latency(server, compiler, raw, body, args.requests, args.warmup, core, tally)
            big = None
            if big_raw is not None:
                print("  large request ...", file=sys.stderr)
                big = measure_big(server, compiler, big_raw, big_body, args.big_repeat, core, tally)
            if first == 1:
                print("  throughput, 1 worker(s), round 1 ...", file=sys.stderr)
                runs.append(
                    measure_throughput(
                        server, compiler, body, args.concurrency, args.concurrent_requests, args.max_seconds, tally, 1
                    )
                )
        for round_no in range(1, args.rounds + 1):
            for w in args.worker_counts:
                if round_no == 1 and w == 1 and first == 1:
                    continue  # measured on the latency server above
                print(f"  throughput, {w} worker(s), round {round_no} ...", file=sys.stderr)
                with running(env, w, log_dir) as server:
                    runs.append(
                        measure_throughput(
                            server,
                            compiler,
                            body,
                            args.concurrency,
                            args.concurrent_requests,
                            args.max_seconds,
                            tally,
                            round_no,
                        )
                    )
        print("  verifying the audit chain ...", file=sys.stderr)
        with running(env, 1, log_dir) as server:
            verification, verify_seconds = get_json(server, auditor, "/v1/audit/verify", VERIFY_TIMEOUT)
            head_after, _ = get_json(server, auditor, "/v1/audit/head")
            decisions, _ = get_json(server, compiler, "/v1/decisions?limit=1")
    finally:
        core.close()
    size_mb = database_size_mb(bench_url)

    print_latency(latency, args.lines, args.warmup)
    print_throughput(runs, args.worker_counts, args.concurrency, args.lines)
    if big is not None:
        print_big(big, args.big_lines, max_body)

    appended = head_after["count"] - head_before["count"]
    checks = [
        ("audit chain verifies (GET /v1/audit/verify ok)", bool(verification["ok"])),
        (f"audit records appended {appended} == successful recommendations {tally.ok}", appended == tally.ok),
        (
            f"decisions recorded {decisions['total']} == successful recommendations {tally.ok}",
            decisions["total"] == tally.ok,
        ),
        (f"failed recommendation requests: {len(tally.failed)}", not tally.failed),
    ]
    print()
    print(
        f"Audit and storage: verify walked {verification['count']} records in {verify_seconds:.1f} s; "
        f"database {args.bench_db} is {size_mb:.0f} MB"
    )
    for label, ok in checks:
        print(f"   {'ok  ' if ok else 'FAIL'} {label}")
    for failure in [f for f in tally.failed if f][:5]:
        print(f"        {failure}")

    p99 = percentile(latency.http, 99)
    print()
    print_load("at the end")
    print("Targets")
    print(
        f"   p99 of a {args.lines}-line recommendation < {TARGET_P99_MS:.0f} ms: {p99 * 1000:.1f} ms -> "
        f"{'met' if p99 * 1000 < TARGET_P99_MS else 'NOT met'}"
    )
    if big is not None and big.http:
        worst = max(big.http)
        print(
            f"   {args.big_lines:,} lines < {TARGET_BIG_SECONDS:.0f} s: median {statistics.median(big.http):.2f} s, "
            f"max {worst:.2f} s -> {'met' if worst < TARGET_BIG_SECONDS else 'NOT met'}"
        )
    medians = [statistics.median([r.per_second for r in runs if r.workers == w]) for w in args.worker_counts]
    growing = all(b > a for a, b in itertools.pairwise(medians))
    ratios = ", ".join(f"{w}w {m / medians[0]:.2f}" for w, m in zip(args.worker_counts, medians, strict=True))
    print(f"   throughput grows with worker processes: {ratios} -> {'met' if growing else 'NOT met'}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
