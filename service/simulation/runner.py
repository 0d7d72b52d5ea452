"""``run_scenario``: evaluate a scenario's baseline, variants and sweep points, verified, in parallel.

The parent process loads the dataset once, compiles each job's ruleset, applies its transforms,
computes cross-line rule memberships on the whole dataset (they need every line) and packs each
job's verification sample. Tasks run on the backend, each one partition of lines for a chunk of
jobs: the fold, the sample's replay through the domain path, and — when the partition is the whole
dataset, the usual case — allocation and summary too. A dataset split into several partitions is
allocated and summarized by the parent once every partition of a job is in.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from service.domain.errors import UnknownRuleset
from service.domain.records import BudgetRequest, parse_request
from service.domain.ruleset import CompiledRuleset
from service.policyfiles import default_root
from service.simulation.catalog import compile_variant, ruleset_catalog
from service.simulation.columns import Bools, Columns, from_request
from service.simulation.evaluate import LineResults, finish, summary
from service.simulation.executors import Backend, open_backend
from service.simulation.fold import FoldState, run_fold
from service.simulation.groups import GroupMembership, membership
from service.simulation.jobs import Job, expand
from service.simulation.replay import ReplayContext, ReplayPack, SimulationMismatch, check, pack, sample_lines
from service.simulation.scenario import Scenario, load_scenario
from service.simulation.transforms import resolve_envelope, transform_columns

Progress = Callable[[int, int, str], None]
MIN_PARTITION_LINES = 20_000


@dataclass(slots=True)
class Prepared:
    """A job ready to evaluate: its ruleset, transformed columns, envelope and group memberships."""

    job: Job
    ruleset: CompiledRuleset
    columns: Columns
    memberships: dict[str, GroupMembership]


@dataclass(frozen=True, slots=True)
class JobTask:
    """What a worker needs to evaluate one job on one partition (picklable)."""

    key: str
    ruleset: CompiledRuleset
    transforms: tuple[Any, ...]
    envelope: int | None
    groups: dict[str, Bools]  # cross-line rules' flagged lines, for this partition
    keep_lines: bool  # return per-line results (baseline and variants), not only the summary
    replay: ReplayPack | None
    engine: str


@dataclass(slots=True)
class TaskResult:
    key: str
    start: int  # first dataset position of the partition
    fold: FoldState | None  # only for a partition of a larger dataset
    results: LineResults | None
    summary: dict[str, Any] | None
    verified: int


@dataclass(slots=True)
class Evaluated:
    """A job's results: per-line arrays (baseline and variants), summary (fens), lines verified."""

    prepared: Prepared
    results: LineResults | None
    summary: dict[str, Any]
    verified: int


def load_dataset(scenario: Scenario, root: Path) -> BudgetRequest:
    """The scenario's request: a file of the repository, or a generated county."""
    if scenario.dataset.generate is not None:
        from service.demo import generate_request

        g = scenario.dataset.generate
        raw = generate_request(g.projects, g.seed, g.fiscal_year)
    else:
        assert scenario.dataset.path is not None
        raw = json.loads((root / scenario.dataset.path).read_text(encoding="utf-8"))
    return parse_request(raw)


def fold_task(columns: Columns, start: int, whole: bool, tasks: Sequence[JobTask]) -> list[TaskResult]:
    """Worker side (pure): fold one partition for several jobs, verify their samples, finish if whole."""
    out = []
    for task in tasks:
        cols = transform_columns(columns, task.transforms).with_envelope(task.envelope)
        fold = run_fold(task.ruleset, cols, task.groups)
        span = range(start, start + cols.size)
        verified = check(task.replay, task.ruleset, fold, task.engine, span) if task.replay else 0
        if whole:
            results = finish(fold, cols)
            out.append(
                TaskResult(
                    task.key, start, None, results if task.keep_lines else None, summary(cols, results), verified
                )
            )
        else:
            out.append(TaskResult(task.key, start, fold, None, None, verified))
    return out


def _concat(parts: Sequence[FoldState]) -> FoldState:
    return FoldState(
        amount=np.concatenate([p.amount for p in parts]),
        status=np.concatenate([p.status for p in parts]),
        tier=np.concatenate([p.tier for p in parts]),
        flags=np.concatenate([p.flags for p in parts]),
        reclaimed=np.concatenate([p.reclaimed for p in parts]),
        flag_codes=parts[0].flag_codes,
    )


class _Preparer:
    """Compiles rulesets, transforms columns and groups lines once per distinct change, for all jobs."""

    def __init__(self, scenario: Scenario, columns: Columns, root: Path) -> None:
        self.scenario = scenario
        self.columns = columns
        self.catalog = ruleset_catalog(scenario.ruleset_id, root)
        pinned = scenario.pinned_revision
        if pinned is not None:
            found = compile_variant(self.catalog, scenario.ruleset_id, {}, ()).revision
            if found != pinned:
                raise UnknownRuleset(
                    f"the scenario pins {scenario.ruleset}, but the ruleset files here are revision {found}"
                )
        self._rulesets: dict[str, CompiledRuleset] = {}
        self._columns: dict[str, Columns] = {}
        self._groups: dict[tuple[str, Any], GroupMembership] = {}

    def prepare(self, job: Job) -> Prepared:
        rule_key = json.dumps([job.params, job.disabled], sort_keys=True, default=str)
        if rule_key not in self._rulesets:
            self._rulesets[rule_key] = compile_variant(self.catalog, self.scenario.ruleset_id, job.params, job.disabled)
        ruleset = self._rulesets[rule_key]
        t_key = json.dumps([t.model_dump(mode="json") for t in job.transforms])
        if t_key not in self._columns:
            self._columns[t_key] = transform_columns(self.columns, job.transforms)
        columns = self._columns[t_key].with_envelope(resolve_envelope(self.columns.envelope, job.envelope))
        memberships = {}
        for policy in ruleset.policies:
            for g in policy.group_rules:
                key = (t_key, (repr(g.where), g.match, g.same, g.differ, g.min_size))
                if key not in self._groups:
                    self._groups[key] = membership(g, columns)
                memberships[g.key] = self._groups[key]
        return Prepared(job, ruleset, columns, memberships)


def plan_tasks(n_lines: int, n_jobs: int, tasks: int) -> tuple[list[slice], int]:
    """Line partitions and job chunk count for about ``tasks`` tasks; lines are split only if needed."""
    partitions = 1
    if n_jobs < tasks and n_lines >= 2 * MIN_PARTITION_LINES:
        partitions = min(math.ceil(tasks / n_jobs), n_lines // MIN_PARTITION_LINES)
    edges = np.linspace(0, n_lines, partitions + 1).astype(int)
    slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]
    chunks = max(1, min(n_jobs, tasks // partitions))
    return slices, chunks


def _job_task(scenario: Scenario, request: BudgetRequest, pj: Prepared, index: int, part: slice) -> JobTask:
    replay = None
    if scenario.verify.sample:
        lines = sample_lines(pj.columns.size, scenario.verify.sample, scenario.verify.seed + index)
        lines = [i for i in lines if part.start <= i < part.stop]
        context = ReplayContext(request, pj.columns, pj.job.transforms, pj.ruleset, pj.memberships)
        replay = pack(context, lines, pj.job.key) if lines else None
    return JobTask(
        key=pj.job.key,
        ruleset=pj.ruleset,
        transforms=pj.job.transforms,
        envelope=pj.columns.envelope,
        groups={k: m.flagged[part] for k, m in pj.memberships.items()},
        keep_lines=pj.job.kind != "sweep",
        replay=replay,
        engine=scenario.verify.engine,
    )


def evaluate_jobs(
    scenario: Scenario,
    request: BudgetRequest,
    columns: Columns,
    backend: Backend,
    root: Path,
    progress: Progress | None = None,
) -> list[Evaluated]:
    """Every job of the scenario, evaluated and verified on the backend, in job order."""
    preparer = _Preparer(scenario, columns, root)
    prepared = [preparer.prepare(job) for job in expand(scenario)]
    total = len(prepared)
    tasks = 1 if backend.name == "serial" else 2 * backend.workers
    slices, n_chunks = plan_tasks(columns.size, total, tasks)
    chunk_size = math.ceil(total / n_chunks)
    bare = replace(columns, project_ids=())
    whole = len(slices) == 1
    futures: list[Future[list[TaskResult]]] = []
    for part in slices:
        shared = backend.share(bare.take(part))
        for first in range(0, total, chunk_size):
            chunk = [
                _job_task(scenario, request, pj, first + k, part)
                for k, pj in enumerate(prepared[first : first + chunk_size])
            ]
            futures.append(backend.submit(fold_task, shared, part.start, whole, chunk))
    if progress:
        progress(0, total, "evaluating")
    parts: dict[str, list[TaskResult]] = {pj.job.key: [] for pj in prepared}
    done: dict[str, Evaluated] = {}
    by_key = {pj.job.key: pj for pj in prepared}
    for future in as_completed(futures):
        for result in future.result():
            parts[result.key].append(result)
            if len(parts[result.key]) == len(slices):
                done[result.key] = _assemble(by_key[result.key], parts.pop(result.key))
                if progress:
                    progress(len(done), total, result.key)
    return [done[pj.job.key] for pj in prepared]


def _assemble(pj: Prepared, parts: list[TaskResult]) -> Evaluated:
    verified = sum(p.verified for p in parts)
    if len(parts) == 1 and parts[0].summary is not None:
        return Evaluated(pj, parts[0].results, parts[0].summary, verified)
    folds = [p.fold for p in sorted(parts, key=lambda p: p.start) if p.fold is not None]
    results = finish(_concat(folds), pj.columns)
    return Evaluated(pj, results if pj.job.kind != "sweep" else None, summary(pj.columns, results), verified)


def run_scenario(
    path: Path | str,
    *,
    executor: str | Executor = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    output: Path | None = None,
    root: Path | None = None,
) -> dict[str, Any]:
    """Run a scenario file and return its results document (also written to ``output`` if given).

    ``executor``: "process" (default, a local pool of ``workers``), "serial", "dask" (with
    ``scheduler``, a Dask scheduler address) or any ``concurrent.futures.Executor``. On any difference
    between the vectorized and the domain path the run is marked failed (``run.json`` in ``output``)
    and :class:`SimulationMismatch` is raised.
    """
    from service.simulation.results import build_document, write_failure, write_outputs

    root = root or default_root()
    scenario = load_scenario(Path(path))
    if progress:
        progress(0, 1, "loading dataset")
    request = load_dataset(scenario, root)
    columns = from_request(request)
    try:
        with open_backend(executor, workers, scheduler) as backend:
            evaluated = evaluate_jobs(scenario, request, columns, backend, root, progress)
        document = build_document(scenario, request, evaluated)
    except SimulationMismatch as error:
        if output is not None:
            write_failure(output, scenario, error)
        raise
    if output is not None:
        write_outputs(output, document)
    return document


__all__ = ["Evaluated", "Prepared", "SimulationMismatch", "run_scenario"]
