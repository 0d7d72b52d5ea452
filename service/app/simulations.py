"""Simulation jobs: validate and store a scenario, start its worker process, watch it, read its outputs.

Life of a job::

    POST  → row (queued) + audit ``simulation.start``, one transaction → spawn the worker process
    worker → running (pid, host, heartbeat) → progress/heartbeat updates → succeeded + result/report
             + audit ``simulation.finish``   (or failed + audit ``simulation.fail`` with the reason)
    GET / list / start-up sweep / the spawning process's reaper thread → a queued or running job whose
             worker is gone (pid not alive on this host) or silent (no heartbeat for ``stale_after``
             seconds) is marked failed "worker process died (pid N)…" + audit ``simulation.fail``

Every state change out of queued/running is a conditional update in the same transaction as its audit
record: a job ends exactly once, and a job marked failed is never turned into a success afterwards.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from service import audit
from service.app.errors import Conflict, NotFound, TooManyRequests
from service.domain.errors import BudgetRulesError, InvalidInput, InvalidPolicy, Problem
from service.domain.policy import SLUG
from service.policyfiles import default_root, parse_model, read_yaml
from service.storage.db import Database, as_utc, utc_now
from service.storage.models import SimulationJobRow
from service.storage.repositories import datasets as datasets
from service.storage.repositories import simulations as repository
from service.storage.repositories.simulations import ACTIVE

log = logging.getLogger("budget_rules.api.simulations")

WORKER_MODULE = "service.app.simulation_worker"
ENV_STALE = "BUDGET_RULES_SIMULATION_STALE_SECONDS"
ENV_HEARTBEAT = "BUDGET_RULES_SIMULATION_HEARTBEAT_SECONDS"
ENV_START_GRACE = "BUDGET_RULES_SIMULATION_START_GRACE_SECONDS"
ENV_WORKERS = "BUDGET_RULES_SIMULATION_WORKERS"
ENV_MAX_RUNNING = "BUDGET_RULES_SIMULATION_MAX_RUNNING"
SYSTEM = audit.Actor(name="simulation-worker", role="system")
MAX_CHECKED_POINTS = 50  # sweep points compiled at submission (all of them up to this, else first and last)


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class SimulationConfig:
    """How jobs run and when a silent one counts as dead.

    ``stale_after``: seconds without a heartbeat after which a queued/running job is failed (default 60,
    ``BUDGET_RULES_SIMULATION_STALE_SECONDS``); the worker beats every ``heartbeat_every`` seconds
    (default a quarter of it, at most 10). A queued job (its worker still starting) is given
    ``start_grace`` seconds instead (default 60, ``BUDGET_RULES_SIMULATION_START_GRACE_SECONDS``).
    ``workers``: 1 (default) evaluates on one thread of the job's process; more runs a process pool of
    that size inside it (children die with the job's process).
    """

    stale_after: float = 60.0
    start_grace: float = 60.0
    heartbeat_every: float | None = None
    workers: int = 1
    max_running: int = 2  # jobs queued or running at once; more wait for the client to retry (429)
    python: str = field(default_factory=lambda: sys.executable)

    @property
    def beat(self) -> float:
        return self.heartbeat_every if self.heartbeat_every else max(0.05, min(10.0, self.stale_after / 4))

    @classmethod
    def from_env(cls) -> SimulationConfig:
        heartbeat = os.environ.get(ENV_HEARTBEAT)
        return cls(
            stale_after=float(os.environ.get(ENV_STALE, "60")),
            start_grace=float(os.environ.get(ENV_START_GRACE, "60")),
            heartbeat_every=float(heartbeat) if heartbeat else None,
            workers=int(os.environ.get(ENV_WORKERS, "1")),
            max_running=int(os.environ.get(ENV_MAX_RUNNING, "2")),
        )


def config_of(app_state: Any) -> SimulationConfig:
    """The app's configuration (``app.state.simulation_config``), else the environment's."""
    config = getattr(app_state, "simulation_config", None)
    return config if isinstance(config, SimulationConfig) else SimulationConfig.from_env()


# ------------------------------------------------------------------ exact JSON (decimals stay numbers)


def exact_json(value: Any) -> str:
    """JSON text in which Decimals are written as JSON numbers (read back with parse_float=Decimal)."""
    marks: dict[str, Decimal] = {}
    tag = uuid.uuid4().hex

    def walk(v: Any) -> Any:
        if isinstance(v, Decimal):
            key = f"\x00{tag}:{len(marks)}\x00"
            marks[key] = v
            return key
        if isinstance(v, dict):
            return {str(k): walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        return v

    text = json.dumps(walk(value), ensure_ascii=False, separators=(",", ":"), default=str)
    for key, number in marks.items():
        text = text.replace(json.dumps(key, ensure_ascii=False), str(number), 1)
    return text


# ------------------------------------------------------------------ the submitted scenario


@dataclass(frozen=True)
class Submission:
    """A validated scenario: the document as submitted, the model, and the stored dataset it names."""

    document: dict[str, Any]
    scenario: Any  # service.simulation.scenario.Scenario
    dataset_id: str | None = None
    dataset_digest: str | None = None

    @property
    def dataset_ref(self) -> dict[str, Any]:
        if self.dataset_id is not None:
            return {"dataset_id": self.dataset_id, "digest": self.dataset_digest}
        dumped: dict[str, Any] = self.scenario.dataset.model_dump(mode="json", exclude_none=True)
        return dumped


def _located(prefix: tuple[str | int, ...], problem: Problem) -> Problem:
    return Problem((*prefix, *problem.loc), problem.message, record=problem.record)


def _shipped(body: dict[str, Any], root: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """``{"scenario": "gate-sweep", "dataset"?: {...}}``: a shipped scenario file, optionally on another dataset."""
    problems += [
        Problem((k,), "not allowed with a shipped scenario name") for k in sorted(set(body) - {"scenario", "dataset"})
    ]
    name = body["scenario"]
    if not re.fullmatch(SLUG, name):
        problems.append(Problem(("scenario",), "must be the name of a shipped scenario (a slug)"))
        return None
    path = root / "simulations" / f"{name}.yaml"
    if not path.is_file():
        problems.append(Problem(("scenario",), f"no shipped scenario {name!r}"))
        return None
    raw = read_yaml(path)  # the server's own file: InvalidPolicy if broken (a server fault)
    if not isinstance(raw, dict):
        problems.append(Problem(("scenario",), f"the shipped scenario {name!r} is not a mapping"))
        return None
    if "dataset" in body:
        raw = {**raw, "dataset": body["dataset"]}
    return raw


def parse_submission(db: Database, body: dict[str, Any], root: Path | None = None) -> Submission:
    """The request body as a job's scenario, or InvalidInput naming every problem found."""
    from service.simulation.scenario import Scenario

    root = root or default_root()
    problems: list[Problem] = []
    document: dict[str, Any] | None = body
    if isinstance(body.get("scenario"), str):
        document = _shipped(body, root, problems)
    if document is None:
        raise InvalidInput(problems)
    dataset = document.get("dataset")
    model_input = document
    dataset_id: str | None = None
    if isinstance(dataset, dict) and "dataset_id" in dataset:
        problems += [
            Problem(("dataset", k), "not allowed with dataset_id") for k in sorted(set(dataset) - {"dataset_id"})
        ]
        if isinstance(dataset["dataset_id"], str):
            dataset_id = dataset["dataset_id"]
        else:
            problems.append(Problem(("dataset", "dataset_id"), "must be a string"))
        model_input = {**document, "dataset": {"generate": {"projects": 0}}}  # stands in for validation only
    scenario = None
    try:
        scenario = parse_model(Scenario, model_input, "request")
    except InvalidPolicy as error:
        problems += [Problem(p.loc, p.message) for p in error.problems]
    digest = None
    if dataset_id is not None:
        with db.transaction() as session:
            row = datasets.get(session, dataset_id)
        if row is None:
            problems.append(Problem(("dataset", "dataset_id"), f"no dataset {dataset_id!r}"))
        else:
            digest = row.digest
    referenced = _referenced_problems(document, root, dataset_id is None)
    problems += referenced
    if scenario is not None and not referenced:
        problems += _semantic_problems(scenario, root)
    if problems:
        raise InvalidInput(capped_problems(problems))
    return Submission(document, scenario, dataset_id, digest)


MAX_PROBLEMS = 200  # problems listed in one answer; the rest are counted


def capped_problems(problems: list[Problem], limit: int = MAX_PROBLEMS) -> list[Problem]:
    """At most ``limit`` problems, and one more saying how many were left out."""
    if len(problems) <= limit:
        return problems
    more = len(problems) - limit
    return [*problems[:limit], Problem((), f"… and {more} more problem(s) not listed; fix these first")]


def _referenced_problems(document: dict[str, Any], root: Path, own_dataset: bool) -> list[Problem]:
    """The files a scenario names (checked even when the schema found problems): dataset path, ruleset."""
    problems: list[Problem] = []
    dataset = document.get("dataset")
    path = dataset.get("path") if own_dataset and isinstance(dataset, dict) else None
    safe = isinstance(path, str) and path and not Path(path).is_absolute() and ".." not in Path(path).parts
    if safe and not (root / str(path)).is_file():
        problems.append(Problem(("dataset", "path"), f"no file {path!r} in the repository"))
    ruleset = document.get("ruleset")
    ruleset_id = ruleset.partition("@")[0] if isinstance(ruleset, str) else None
    if ruleset_id and re.fullmatch(SLUG, ruleset_id) and not (root / "rulesets" / f"{ruleset_id}.yaml").is_file():
        problems.append(Problem(("ruleset",), f"no ruleset {ruleset_id!r}"))
    return problems


def _semantic_problems(scenario: Any, root: Path) -> list[Problem]:
    """Every parameter value and switched-off policy, against the ruleset (compiled as the run will)."""
    from service.simulation.catalog import compile_variant, ruleset_catalog
    from service.simulation.jobs import expand

    problems: list[Problem] = []
    catalog = ruleset_catalog(scenario.ruleset_id, root)
    jobs = expand(scenario)
    where: dict[str, tuple[str | int, ...]] = {"baseline": ("ruleset",)}
    where |= {f"variant/{v.name}": ("variants", i) for i, v in enumerate(scenario.variants)}
    checked = [j for j in jobs if j.kind != "sweep"]
    for i, sweep in enumerate(scenario.sweeps):
        points = [j for j in jobs if j.kind == "sweep" and j.name == sweep.name]
        chosen = points if len(points) <= MAX_CHECKED_POINTS else [points[0], points[-1]]
        for job in chosen:
            where[job.key] = ("sweeps", i)
        checked += chosen
    bound = {b.policy for b in catalog.rulesets[scenario.ruleset_id].policies}
    seen: set[str] = set()
    for job in checked:
        unknown = sorted(set(job.params) - bound)
        if unknown:  # compile_variant ignores them: the run would silently change nothing
            loc = where.get(job.key, ())
            problems.append(Problem(loc, f"ruleset {scenario.ruleset_id} binds no policy {', '.join(unknown)}"))
            continue
        key = json.dumps([job.params, job.disabled], sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        loc = where.get(job.key, ())
        label = f"at {', '.join(f'{k}={v}' for k, v in job.point.items())}: " if job.point else ""
        try:
            compile_variant(catalog, scenario.ruleset_id, job.params, job.disabled)
        except (InvalidPolicy, InvalidInput) as error:
            problems += [Problem(loc, f"{label}{_where(p)}{p.message}") for p in error.problems]
        except BudgetRulesError as error:
            problems.append(Problem(loc, f"{label}{error}"))
    return problems


def _where(problem: Problem) -> str:
    return f"{'.'.join(str(p) for p in problem.loc)}: " if problem.loc else ""


def read_submission(db: Database, row: SimulationJobRow, root: Path | None = None) -> Submission:
    """A stored job's scenario, validated again (the worker's view)."""
    from service.app.requests import parse_json_object

    return parse_submission(db, parse_json_object(row.scenario_json.encode("utf-8")), root)


# ------------------------------------------------------------------ start


class TooManyJobs(TooManyRequests):
    code = "too_many_simulations"


def start(state: Any, config: SimulationConfig, actor: audit.Actor, body: dict[str, Any]) -> SimulationJobRow:
    """Validate, store the job and its audit record (one transaction), then spawn its worker.

    Each job is a process: at most ``config.max_running`` run at once (on 2 cores, more only slows
    every one of them); beyond that the request is refused with 429 and ``Retry-After``.
    """
    submission = parse_submission(state.db, body)
    sweep(state.db, state.settings.audit_secret, config)  # dead workers must not hold places
    with state.db.transaction() as session:
        running = len(repository.active_ids(session))
    if running >= config.max_running:
        raise TooManyJobs(
            f"{running} simulations are queued or running (at most {config.max_running} at once); try again later"
        )
    row = SimulationJobRow(
        id=str(uuid.uuid4()),
        created_at=utc_now(),
        created_by=actor.name,
        created_role=actor.role,
        scenario_id=submission.scenario.id,
        scenario_json=exact_json(submission.document),
        state="queued",
    )
    with state.db.transaction() as session:
        repository.add(session, row)
        record = audit.append(
            session,
            state.settings.audit_secret,
            actor=actor,
            action="simulation.start",
            subject=row.id,
            input_doc={"scenario": submission.document, "dataset": submission.dataset_ref},
            result_doc={"job_id": row.id, "state": "queued"},
        )
        row.audit_seq = record.seq
        session.add(row)
    spawn(state, config, row.id)
    return get_job(state, config, row.id)


def spawn(state: Any, config: SimulationConfig, job_id: str) -> None:
    """Start ``python -m service.app.simulation_worker JOB_ID``; a daemon thread reaps it."""
    settings = state.settings
    env = {
        **os.environ,
        "BUDGET_RULES_DATABASE_URL": settings.database_url,
        "BUDGET_RULES_AUDIT_SECRET": settings.audit_secret,
        "BUDGET_RULES_ENVIRONMENT": settings.environment,
        ENV_HEARTBEAT: str(config.beat),
        ENV_WORKERS: str(config.workers),
    }
    try:
        process = subprocess.Popen(  # our own interpreter and module
            [config.python, "-m", WORKER_MODULE, job_id],
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C aimed at the server does not kill running jobs
            close_fds=True,
        )
    except OSError as error:
        mark_failed(state.db, settings.audit_secret, job_id, f"the worker process could not be started: {error}")
        return
    with state.db.transaction() as session:
        repository.set_pid(session, job_id, process.pid, socket.gethostname())
    threading.Thread(
        target=_reap,
        args=(state.db, settings.audit_secret, process, job_id),
        name=f"simulation-{job_id[:8]}",
        daemon=True,
    ).start()


def _reap(db: Database, secret: str, process: subprocess.Popen[bytes], job_id: str) -> None:
    """Wait for the worker (no zombie is left); if it ended without ending its job, the job failed."""
    code = process.wait()
    if code == 0:
        how = "it exited without finishing the job"
    elif code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    try:
        mark_failed(db, secret, job_id, f"worker process died (pid {process.pid}): {how}")
    except Exception:  # the database may be gone; the next GET or start-up sweep will notice
        log.exception("could not record the end of simulation job %s", job_id)


# ------------------------------------------------------------------ ending a job


def mark_failed(db: Database, secret: str, job_id: str, reason: str, actor: audit.Actor = SYSTEM) -> bool:
    """queued/running → failed with ``reason`` and a ``simulation.fail`` record; False if it had already ended."""
    now = utc_now()
    with db.transaction() as session:
        if not repository.transition(session, job_id, ACTIVE, state="failed", error=reason, finished_at=now):
            return False
        audit.append(
            session,
            secret,
            actor=actor,
            action="simulation.fail",
            subject=job_id,
            input_doc={"job_id": job_id},
            result_doc={"state": "failed", "error": reason},
        )
    return True


def mark_succeeded(
    db: Database, secret: str, job_id: str, document: dict[str, Any], report: str, actor: audit.Actor = SYSTEM
) -> bool:
    """running → succeeded with the result and report, and a ``simulation.finish`` record."""
    import hashlib

    result_text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
    now = utc_now()
    with db.transaction() as session:
        row = repository.get(session, job_id)
        total = row.progress_total if row is not None and row.progress_total else 0
        values = {"state": "succeeded", "result_json": result_text, "report_html": report, "finished_at": now}
        if not repository.transition(session, job_id, ("running",), **values, progress_done=total, heartbeat_at=now):
            return False
        verification = document.get("verification", {})
        audit.append(
            session,
            secret,
            actor=actor,
            action="simulation.finish",
            subject=job_id,
            input_doc={"job_id": job_id},
            result_doc={
                "state": "succeeded",
                "result_sha256": hashlib.sha256(result_text.encode("utf-8")).hexdigest(),
                "report_sha256": hashlib.sha256(report.encode("utf-8")).hexdigest(),
                "evaluations": verification.get("evaluations"),
                "lines_checked": verification.get("lines_checked"),
                "mismatches": verification.get("mismatches"),
            },
            ruleset=(document.get("baseline") or {}).get("changes", {}).get("ruleset"),
        )
    return True


# ------------------------------------------------------------------ liveness


def _proc(pid: int, name: str) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return None


def worker_alive(pid: int, job_id: str) -> bool:
    """Is ``pid`` (on this host) still this job's worker? Gone, a zombie, or another program: no."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _proc(pid, "stat")
    if stat is not None and stat.rsplit(b")", 1)[-1].split()[:1] in ([b"Z"], [b"X"]):
        return False
    cmdline = _proc(pid, "cmdline")
    # a pid reused by another process is not our worker
    return cmdline is None or (WORKER_MODULE.encode() in cmdline and job_id.encode() in cmdline)


def dead_reason(row: SimulationJobRow, config: SimulationConfig) -> str | None:
    """Why a queued/running job cannot be alive, or None."""
    if row.state not in ACTIVE:
        return None
    if row.pid is not None and row.host == socket.gethostname() and not worker_alive(row.pid, row.id):
        return f"worker process died (pid {row.pid})"
    last = as_utc(row.heartbeat_at or row.created_at)
    silent = (utc_now() - last).total_seconds()
    limit = config.stale_after if row.state == "running" else max(config.stale_after, config.start_grace)
    if silent > limit:
        if row.pid is None:
            return f"worker process never started (nothing heard for {silent:.0f} s)"
        return f"worker process died (pid {row.pid}): no heartbeat for {silent:.0f} s"
    return None


def settle(db: Database, secret: str, config: SimulationConfig, job_id: str) -> SimulationJobRow | None:
    """The job, after marking it failed if its worker is dead (and stopping a silent worker of ours)."""
    with db.transaction() as session:
        row = repository.get(session, job_id)
    if row is None or row.state not in ACTIVE:
        return row
    reason = dead_reason(row, config)
    if reason is None:
        return row
    if mark_failed(db, secret, job_id, reason):
        log.warning("simulation job %s: %s", job_id, reason)
        if row.pid is not None and row.host == socket.gethostname() and worker_alive(row.pid, job_id):
            with contextlib.suppress(OSError):  # silent but present (hung): it must not outlive its job
                os.kill(row.pid, signal.SIGKILL)
    with db.transaction() as session:
        return repository.get(session, job_id)


def sweep(db: Database, secret: str, config: SimulationConfig) -> int:
    """Fail every queued/running job whose worker is dead (at start-up and before listing); the count."""
    with db.transaction() as session:
        ids = repository.active_ids(session)
    failed = 0
    for job_id in ids:
        row = settle(db, secret, config, job_id)
        failed += int(row is not None and row.state == "failed")
    return failed


def sweep_app(app: Any) -> None:
    """Start-up hook: ``create_app``'s lifespan calls this once the migrations are applied."""
    state = app.state.budget_rules
    sweep(state.db, state.settings.audit_secret, config_of(app.state))


# ------------------------------------------------------------------ reading


def get_job(state: Any, config: SimulationConfig, job_id: str) -> SimulationJobRow:
    row = settle(state.db, state.settings.audit_secret, config, job_id)
    if row is None:
        raise NotFound(f"no simulation job {job_id!r}")
    return row


def list_jobs(
    state: Any, config: SimulationConfig, job_state: str | None, limit: int, offset: int
) -> tuple[list[SimulationJobRow], int]:
    sweep(state.db, state.settings.audit_secret, config)
    with state.db.transaction() as session:
        return repository.page(session, job_state, limit, offset)


def finished(state: Any, config: SimulationConfig, job_id: str) -> SimulationJobRow:
    """A succeeded job, else 409: ``simulation_not_finished`` (queued/running) or ``simulation_failed``."""
    row = get_job(state, config, job_id)
    if row.state == "failed":
        raise Conflict(f"simulation job {job_id} failed: {row.error}", code="simulation_failed")
    if row.state != "succeeded":
        raise Conflict(
            f"simulation job {job_id} is {row.state} ({row.progress_done}/{row.progress_total}); try again later",
            code="simulation_not_finished",
        )
    return row
