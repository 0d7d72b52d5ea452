"""The streamed decision's two passes on worker processes (多进程): the same document, on every core.

durable-rules' C engine holds the GIL for every call, so threads add nothing; processes do (see
../shared/notes/durable-rules.md). :func:`service.batch.recommend_stream` hands this module the request's
project lines in chunks when there are more than one chunk's worth and more than one core:

- pass 1: a worker validates a chunk of raw items, matches it in its own durable-rules engine and folds it
  (:class:`service.batch.Decider`); the parent process reads the file, keeps what stays in memory of each
  line, and writes the spool records, in the request's order;
- between the passes, the parent does the cross-line rules, the allocation and the summary, as before;
- pass 2: a worker completes a chunk of spool records into the lines' text (:class:`service.batch.Renderer`);
  the parent writes the chunks in order.

The workers are forked from the parent (``fork``: the compiled ruleset and the request's header are
inherited, nothing is pickled to start them) and each builds its own matcher. Chunks in flight are bounded
(:data:`AHEAD` per worker), so memory stays that of a few chunks, whatever the number of lines.

A chunk with any problem (a line refused by validation, a project id seen twice) is not decided here:
:class:`DecideSerially` is raised before anything is written, and the caller decides the request again
in one process, which lists every problem in the order it always has.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from service.domain.records import RequestValidator
from service.domain.ruleset import CompiledRuleset

CHUNK = 1000
"""Lines a worker takes at a time: about 0.1 s of work, so the cost of a hand-over (about 1 ms) is small."""

AHEAD = 2
"""Chunks in flight per worker: enough to keep every worker busy, few enough to bound memory."""

MAX_WORKERS = 64
"""The most --workers may ask for; by default one per core, at most 8."""

T = TypeVar("T")
R = TypeVar("R")


class DecideSerially(Exception):
    """A line has problems: decide the request in one process, which reports every problem in order."""


def default_workers() -> int:
    """The cores this process may run on (at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


Place = tuple[str, int, int]
"""Where a chunk's spool records are: a worker's spool file, the offset and the length in bytes."""


class _Worker:
    """A worker process's state: its validator, its own engine, its spool file, and the two passes' code."""

    def __init__(self, header_raw: Mapping[str, Any], ruleset: CompiledRuleset, engine: str, folder: str) -> None:
        from service.batch import Decider, Renderer
        from service.engine import make_matcher

        self.validator = RequestValidator(header_raw)
        assert self.validator.header is not None  # the parent validated the same header
        self.decider = Decider(self.validator.header, ruleset, make_matcher(ruleset, engine))  # type: ignore[arg-type]
        self.renderer = Renderer(ruleset)
        self.spool = os.path.join(folder, f"spool-{os.getpid()}")
        self.written = 0
        self._files: dict[str, int] = {}

    def write(self, records: bytes) -> Place:
        """Append records to this worker's spool; any worker reads them back by their place."""
        if not self.written:
            self._files[self.spool] = os.open(self.spool, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        offset = self.written
        os.pwrite(self._files[self.spool], records, offset)
        self.written += len(records)
        return self.spool, offset, len(records)

    def read(self, place: Place) -> list[bytes]:
        path, offset, length = place
        if path not in self._files:
            self._files[path] = os.open(path, os.O_RDONLY)
        return os.pread(self._files[path], length, offset).split(b"\n")[:-1]  # each record ends with a newline


_worker: _Worker | None = None


def _start(header_raw: Mapping[str, Any], ruleset: CompiledRuleset, engine: str, folder: str) -> None:
    global _worker
    _worker = _Worker(header_raw, ruleset, engine, folder)


def _decide(start: int, items: list[Any]) -> Any:
    """Pass 1 of lines ``start`` … (raw items): ``None`` when any of them has a problem, else the lines, the
    ones that meet a cross-line rule, and the place of their spool records."""
    assert _worker is not None
    validator = _worker.validator
    projects = validator.projects(start, items)
    if validator.problems:
        validator.problems.clear()
        return None
    lines, groups, records = _worker.decider.decide(projects, start)  # type: ignore[arg-type]  # no None here
    return lines, groups, _worker.write(records)


def _render(place: Place, *args: Any) -> str:
    """Pass 2 of the lines whose records are at ``place``: :meth:`service.batch.Renderer.render` of the rest."""
    assert _worker is not None
    first, *rest = args
    return _worker.renderer.render(first, _worker.read(place), *rest)


class LinePool:
    """Worker processes for one streamed decision (a context manager: they end with it)."""

    def __init__(self, header_raw: Mapping[str, Any], ruleset: CompiledRuleset, engine: str, workers: int) -> None:
        self.workers = workers
        self._folder = tempfile.TemporaryDirectory(prefix="budget-rules-")  # the workers' spools: removed at the end
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start,
            initargs=({**header_raw, "projects": []}, ruleset, engine, self._folder.name),
        )

    def __enter__(self) -> LinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._executor.shutdown(wait=True, cancel_futures=True)
        finally:
            self._folder.cleanup()

    def decide(self, runs: Iterable[tuple[int, list[Any]]]) -> Iterator[Any]:
        """Pass 1 of each run of raw items, in order: (lines, groups, place of the spool records) of each."""
        for result in self._ordered(_decide, ((start, items) for start, items in runs)):
            if result is None:
                raise DecideSerially("a line has problems")
            yield result

    def render(self, jobs: Iterable[tuple[Any, ...]]) -> Iterator[str]:
        """Pass 2 of each job (a place, then the arguments of :meth:`service.batch.Renderer.render` but the
        records), in order."""
        return self._ordered(_render, jobs)

    def _ordered(self, work: Callable[..., R], jobs: Iterable[tuple[Any, ...]]) -> Iterator[R]:
        """``work(*job)`` of each job on the workers, the results in the jobs' order, a bounded number in flight."""
        pending: deque[Future[R]] = deque()
        for job in jobs:
            pending.append(self._executor.submit(work, *job))
            if len(pending) >= self.workers * AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
