"""The process that runs one simulation job: ``python -m service.app.simulation_worker JOB_ID``.

Started by the web worker that accepted the job (environment: ``BUDGET_RULES_DATABASE_URL``,
``BUDGET_RULES_AUDIT_SECRET``, heartbeat interval and pool size). It claims the job (queued → running,
with its pid and host), beats a heartbeat from a thread, writes progress as jobs complete, and ends the
job: succeeded with the result document and the HTML report, or failed with the reason. Each end is
an audit record. If this process is killed, the job is failed by whoever notices first (the spawning
web worker's reaper thread, a GET, a listing or the start-up sweep).

Exit codes: 0 succeeded, 1 failed (recorded), 2 usage, 3 the job was not queued, 4 the job ended
elsewhere while running (e.g. it was declared dead; nothing was written).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.app import simulations as service
from service.domain.errors import InvalidInput, InvalidPolicy
from service.settings import Settings
from service.storage.db import Database, utc_now
from service.storage.repositories import datasets as datasets
from service.storage.repositories import simulations as repository

if TYPE_CHECKING:
    from service.lifecycle.revisions import RevisionContent

log = logging.getLogger("budget_rules.simulation_worker")
PLANNED_WORKERS = 8  # tasks are planned as for 8 workers (about 16 progress steps), whatever runs them
PROGRESS_EVERY = 0.2  # seconds between progress writes (the last one is always written)


class JobEnded(Exception):
    """The job is no longer running in the database (declared dead, or ended elsewhere): stop."""


def _die_with_parent() -> None:
    """Pool children: receive SIGKILL when the job's process dies (Linux), so none is left behind."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@contextmanager
def _executor(workers: int) -> Iterator[Executor]:
    """One thread (default), or a pool of processes; pending work is cancelled if the run stops early."""
    executor: Executor
    if workers <= 1:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulation")
    else:
        executor = ProcessPoolExecutor(max_workers=workers, initializer=_die_with_parent)
    try:
        yield executor
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class _Progress:
    """The runner's progress callback: throttled writes, each one also a heartbeat."""

    def __init__(self, db: Database, job_id: str) -> None:
        self.db, self.job_id, self.last = db, job_id, 0.0

    def __call__(self, done: int, total: int, what: str) -> None:
        now = time.monotonic()
        if done < total and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        with self.db.transaction() as session:
            alive = repository.touch(
                session, self.job_id, utc_now(), progress_done=done, progress_total=total, progress_message=what[:200]
            )
        if not alive:
            raise JobEnded(self.job_id)


def _heartbeat(db: Database, job_id: str, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            with db.transaction() as session:
                if not repository.touch(session, job_id, utc_now()):
                    return
        except Exception:  # a database hiccup: try again at the next beat
            log.exception("heartbeat of simulation job %s failed", job_id)


def run(db: Database, row: Any, workers: int, progress: Any) -> tuple[dict[str, Any], str]:
    """The job's scenario, evaluated: (results document, HTML report)."""
    import json

    from service.domain.records import parse_request
    from service.policyfiles import default_root
    from service.simulation.columns import from_request
    from service.simulation.executors import open_backend
    from service.simulation.report import render_report
    from service.simulation.results import build_document
    from service.simulation.runner import evaluate_jobs, load_dataset

    root = default_root()
    submission = service.read_submission(db, row, root)
    scenario = submission.scenario
    progress(0, 1, "loading dataset")
    if submission.dataset_id is not None:
        with db.transaction() as session:
            stored = datasets.get(session, submission.dataset_id)
        if stored is None:
            raise LookupError(f"dataset {submission.dataset_id!r} no longer exists")
        request = parse_request(json.loads(stored.data_json))
    else:
        request = load_dataset(scenario, root)
    columns = from_request(request)
    with tempfile.TemporaryDirectory(prefix="budget-rules-simulation-") as folder:
        revision_root = stored_revision(db, scenario.ruleset, request.fiscal_year).write_tree(Path(folder))
        with _executor(workers) as executor, open_backend(executor, max(workers, PLANNED_WORKERS)) as backend:
            evaluated = evaluate_jobs(scenario, request, columns, backend, revision_root, progress)
    document = build_document(scenario, request, evaluated)
    document["scenario"]["dataset"] = submission.dataset_ref
    return document, render_report(document)


def stored_revision(db: Database, ref: str, fiscal_year: int) -> RevisionContent:
    """The revision a job simulates: the one it pins (``id@revision``), else the one active for the year.

    Jobs run on the revisions stored in the database, as recommendations do, never on whatever files
    the server happens to have.
    """
    from service.lifecycle.revisions import RevisionContent
    from service.storage.repositories import rulesets as revisions

    ruleset_id, _, pinned = ref.partition("@")
    with db.transaction() as session:
        if pinned:
            row = revisions.get(session, ruleset_id, pinned)
            if row is None or row.state not in ("approved", "active", "retired"):
                raise LookupError(f"no approved revision {ref}")
        else:
            rows = revisions.active(session, ruleset_id)
            row = next(
                (
                    r
                    for r in rows
                    if r.active_from_year is not None
                    and r.active_from_year <= fiscal_year
                    and (r.active_to_year is None or fiscal_year <= r.active_to_year)
                ),
                None,
            )
            if row is None:
                raise LookupError(f"no revision of {ruleset_id} is active for fiscal year {fiscal_year}")
    return RevisionContent.from_json(row.ruleset_json, row.policies_json, row.digest)


def _describe(error: BaseException) -> str:
    if isinstance(error, InvalidInput | InvalidPolicy):
        return "; ".join(str(p) for p in error.problems) or type(error).__name__
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m service.app.simulation_worker JOB_ID", file=sys.stderr)
        return 2
    job_id = args[0]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s simulation-worker %(levelname)s %(message)s")
    settings = Settings()
    db = Database(settings.database_url)
    secret = settings.audit_secret
    every = float(os.environ.get(service.ENV_HEARTBEAT, "10"))
    workers = int(os.environ.get(service.ENV_WORKERS, "1"))
    now = utc_now()
    with db.transaction() as session:
        claimed = repository.transition(
            session,
            job_id,
            ("queued",),
            state="running",
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=now,
            heartbeat_at=now,
        )
        row = repository.get(session, job_id) if claimed else None
    if row is None:
        log.error("simulation job %s is not queued; nothing to do", job_id)
        return 3
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(db, job_id, every, stop), name="heartbeat", daemon=True)
    beat.start()
    try:
        document, report = run(db, row, workers, _Progress(db, job_id))
    except JobEnded:
        log.error("simulation job %s ended elsewhere while running; stopping", job_id)
        return 4
    except Exception as error:
        stop.set()
        log.exception("simulation job %s failed", job_id)
        service.mark_failed(db, secret, job_id, f"the simulation failed: {_describe(error)}")
        return 1
    finally:
        stop.set()
    if not service.mark_succeeded(db, secret, job_id, document, report):
        log.error("simulation job %s ended elsewhere before its result was stored; result discarded", job_id)
        return 4
    log.info("simulation job %s succeeded", job_id)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
