"""The streamed decision's two passes on several processes (多进程): the same document, on every core.

durable-rules' C engine holds the GIL for every call, so threads add nothing; processes do (see
../shared/notes/durable-rules.md). :func:`service.batch.recommend_stream` hands this module the request's
project lines (more than :data:`service.batch.POOLED_FROM` of them, read a line at a time) in chunks, decided by
``workers`` processes: ``workers - 1`` forked worker processes and the command's own process, which decides
chunks too whenever it would otherwise wait (two processes on two cores, not three: 100,000 lines took 12% less
time, and 115 MiB instead of 130):

- pass 1: a worker validates a chunk of raw items, matches it in its own durable-rules engine and folds it
  (:class:`service.batch.Decider`), and keeps the lines and their spool records in its spool file; the parent
  reads the file, keeps what the allocation needs of each line, and checks project ids across chunks;
- between the passes, the parent does the cross-line rules, the allocation and the summary, as before;
- pass 2: the worker that decided a chunk completes its lines' text (:class:`service.batch.Renderer`) from
  its spool and the chunk's numbers; the parent copies the chunks' text to the output in order.

The worker processes are forked from the parent (``fork``: the compiled ruleset and the request's header are
inherited, nothing is pickled to start them) and each builds its own matcher; the parent's own worker is made
after the forks. Each worker process has a pipe to the parent and a spool file: a job goes down the pipe, the
worker writes what it made (a chunk's lines, their records, their text) to its spool and sends back only where
it is (a :data:`Place`). So the pipes carry small messages but for the raw items of pass 1, the parent copies a
chunk's text to the output in one read and one write, and no helper thread of the parent competes with it for
the GIL (``ProcessPoolExecutor``'s two threads cost about 20 µs a line). The worker processes are kept
:data:`AHEAD` chunks ahead, so memory stays that of a few chunks, whatever the number of lines.

A chunk with any problem (a line refused by validation, a project id seen twice) is not decided here:
:class:`DecideSerially` is raised before anything is written, and the caller decides the request again
in one process, which lists every problem in the order it always has.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from multiprocessing.connection import Connection
from typing import Any

from service.domain.errors import EngineFailure
from service.domain.records import RequestValidator
from service.domain.ruleset import CompiledRuleset

CHUNK = 250
"""Lines a worker takes at a time: 10–25 ms of work, so a hand-over (well under 1 ms) costs little, and the
workers wait little at the start and end of each pass (10,000 lines took 5% less time than with 500 a chunk;
100,000 the same)."""

AHEAD = 2
"""Chunks in flight per worker process: enough to keep it busy, few enough to bound memory."""

ANSWER_WITHIN = 600
"""Seconds a worker may take over one chunk (about 0.05 s of work) before it is taken for hung and stopped."""

MAX_WORKERS = 64
"""The most --workers may ask for; by default one per core, at most 8 (this process counts as one)."""

Place = tuple[str, int, int]
"""Where a worker wrote something: its spool file, the offset and the length in bytes."""

Places = tuple[Place, Place, Place]
"""Where a worker keeps a chunk decided in pass 1: its lines (as columns, with what the cross-line rules compare of
them: the parent reads this), its lines that meet a cross-line rule (read back in pass 2), its spool records."""


class DecideSerially(Exception):
    """A line has problems: decide the request in one process, which reports every problem in order."""


class WorkerStopped(EngineFailure):
    """A worker process ended without answering (killed, or out of memory)."""


def default_workers() -> int:
    """Processes to decide lines on (this one included): the cores this process may run on (at most 8); 1 where
    processes cannot be forked (Windows)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


class _Spools:
    """The workers' spool files, read by place (each file opened once)."""

    def __init__(self) -> None:
        self._files: dict[str, int] = {}

    def read(self, place: Place) -> bytes:
        path, offset, length = place
        if path not in self._files:
            self._files[path] = os.open(path, os.O_RDONLY)
        return os.pread(self._files[path], length, offset)

    def close(self) -> None:
        for fd in self._files.values():
            os.close(fd)
        self._files.clear()


class _Worker:
    """A worker's state: its validator, its own engine, its spool file, and the two passes (in a worker process,
    or in the parent, which decides lines too while it would otherwise wait)."""

    def __init__(self, header_raw: Mapping[str, Any], ruleset: CompiledRuleset, engine: str, folder: str) -> None:
        from service.batch import Decider, Renderer, compared_fields
        from service.engine import make_matcher

        self.validator = RequestValidator(header_raw)
        assert self.validator.header is not None  # the parent validated the same header
        self.decider = Decider(self.validator.header, ruleset, make_matcher(ruleset, engine))  # type: ignore[arg-type]
        self.renderer = Renderer(ruleset, self.decider.fold)
        self.compared = compared_fields(ruleset)
        self.spool = os.path.join(folder, f"spool-{os.getpid()}")
        self._fd = os.open(self.spool, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._written = 0
        self.spools = _Spools()

    def close(self) -> None:
        os.close(self._fd)
        self.spools.close()

    def write(self, data: bytes) -> Place:
        offset = self._written
        os.pwrite(self._fd, data, offset)
        self._written += len(data)
        return self.spool, offset, len(data)

    def decide(self, start: int, items: list[Any]) -> Places | None:
        """Pass 1 of lines ``start`` … (raw items): ``None`` when any of them has a problem, else where the lines,
        the ones that meet a cross-line rule and their spool records are (:data:`Places`)."""
        from service.batch import Compared

        projects = self.validator.projects(start, items)
        self.validator.forget_ids()
        if self.validator.problems:
            self.validator.problems.clear()
            return None
        columns, groups, records = self.decider.decide(projects, start)  # type: ignore[arg-type]  # no None here
        compared = tuple(Compared.of(groups, self.compared))
        lines_place = self.write(pickle.dumps((columns, compared), pickle.HIGHEST_PROTOCOL))
        return lines_place, self.write(pickle.dumps(groups, pickle.HIGHEST_PROTOCOL)), self.write(records)

    def run(self, kind: str, args: tuple[Any, ...]) -> Any:
        """A job of either pass: ``"decide"`` (:meth:`decide`) or ``"render"`` (:meth:`render`)."""
        return self.decide(*args) if kind == "decide" else self.render(*args)

    def render(self, places: Places, first: int, *numbers: Any) -> Place:
        """Pass 2 of the chunk whose lines and records are at ``places`` (what :meth:`decide` wrote), with its
        cross-line results and allocation (a :class:`service.batch.Completion` but the groups, which are read
        back with the lines): where its text is, in UTF-8."""
        from service.batch import Completion, lines_of

        lines_place, groups_place, records_place = places
        lines = lines_of(pickle.loads(self.spools.read(lines_place))[0])
        groups = pickle.loads(self.spools.read(groups_place))
        records = self.spools.read(records_place).split(b"\n")[:-1]  # each record ends with a newline
        return self.write(self.renderer.render(first, records, lines, Completion(groups, *numbers)))


def _serve(
    conn: Connection,
    parents: list[Connection],
    header_raw: Mapping[str, Any],
    ruleset: CompiledRuleset,
    engine: str,
    folder: str,
) -> None:
    """A worker process: a job in, ``("ok", result)`` or ``("error", exception)`` out, until the pipe closes.

    ``parents`` are the parent's ends of the pipes, inherited by the fork: closed here, or a worker would not
    see its pipe close when the parent closes it."""
    for inherited in parents:
        inherited.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it closes the pipes
    worker: _Worker | BaseException
    try:
        worker = _Worker(header_raw, ruleset, engine, folder)
    except Exception as error:  # told to the parent with the first job
        worker = error
    while True:
        try:
            kind, args = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        try:
            if isinstance(worker, BaseException):
                raise worker
            reply: tuple[str, Any] = ("ok", worker.run(kind, args))
        except Exception as error:
            reply = ("error", error)
        try:
            message = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that does not pickle: its words
            message = pickle.dumps(("error", EngineFailure(f"{type(reply[1]).__name__}: {reply[1]}")))
        try:
            conn.send_bytes(message)
        except OSError:  # the parent has stopped (interrupted, or failed on another chunk)
            return


_LOCAL = -1
"""The worker in the parent process, among the indices of the workers."""


class _Job:
    """A job of one pass, in the jobs' order: waiting, sent to a worker process, or done (with its result)."""

    __slots__ = ("args", "done", "owner", "value", "worker")

    def __init__(self, args: tuple[Any, ...], owner: int | None) -> None:
        self.args = args
        self.owner = owner  # the worker that must do it (pass 2), or None: any
        self.worker: int | None = None  # the worker process it was sent to
        self.done = False
        self.value: Any = None

    def finish(self, value: Any) -> None:
        self.done, self.value = True, value


class LinePool:
    """The processes that decide one streamed decision's lines: this one and ``workers - 1`` forked workers (a
    context manager: they end with it)."""

    def __init__(self, header_raw: Mapping[str, Any], ruleset: CompiledRuleset, engine: str, workers: int) -> None:
        self.workers = workers
        self._folder = tempfile.TemporaryDirectory(prefix="budget-rules-")  # the workers' spools: removed at the end
        self._spools = _Spools()
        self._conns: list[Connection] = []
        self._processes: list[Any] = []
        self._owners: dict[str, int] = {}  # spool file -> the worker that writes it
        self._local: _Worker | None = None
        context = multiprocessing.get_context("fork")
        header = {**header_raw, "projects": []}
        try:
            for _ in range(workers - 1):
                parent, child = context.Pipe()
                process = context.Process(
                    target=_serve,
                    args=(child, [*self._conns, parent], header, ruleset, engine, self._folder.name),
                    daemon=True,
                )
                process.start()
                child.close()
                self._owners[os.path.join(self._folder.name, f"spool-{process.pid}")] = len(self._conns)
                self._conns.append(parent)
                self._processes.append(process)
            self._local = _Worker(header, ruleset, engine, self._folder.name)  # after the forks: not inherited
            self._owners[self._local.spool] = _LOCAL
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> LinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the workers (each sees its pipe close) and remove their spools."""
        for conn in self._conns:
            conn.close()
        if self._local is not None:
            self._local.close()
            self._local = None
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        self._conns.clear()
        self._processes.clear()
        self._spools.close()
        self._folder.cleanup()

    def read(self, place: Place) -> bytes:
        """What a worker wrote at ``place``."""
        return self._spools.read(place)

    def decide(
        self, runs: Iterable[tuple[int, list[Any]]]
    ) -> Iterator[tuple[tuple[Any, ...], tuple[dict[int, Any], dict[int, Any]], Places]]:
        """Pass 1 of each run of raw items, in order: the lines (as columns), what the cross-line rules compare of
        them (their matches and facts), and where the worker keeps the chunk (for :meth:`render`)."""
        for result in self._ordered("decide", runs, lambda job: None):
            if result is None:
                raise DecideSerially("a line has problems")
            columns, compared = pickle.loads(self.read(result[0]))
            yield columns, compared, result

    def render(self, jobs: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
        """Pass 2 of each job (the places :meth:`decide` gave, the first line's index, then the fields of a
        :class:`service.batch.Completion` after the groups), in order: the lines' text in UTF-8. Job ``k`` goes
        to the worker that decided chunk ``k``, which reads its lines back from its own spool."""
        for place in self._ordered("render", jobs, lambda job: self._owners[job[0][0][0]]):
            yield self.read(place)

    def _ordered(
        self, kind: str, jobs: Iterable[tuple[Any, ...]], owner: Callable[[tuple[Any, ...]], int | None]
    ) -> Iterator[Any]:
        """Each job done by a worker, the results in the jobs' order.

        The worker processes are kept AHEAD jobs ahead (the next jobs in order that they may do); the parent does
        a job itself whenever it would otherwise wait for the oldest one (in pass 1 any job, in pass 2 its own
        chunks'), and waits only when it has none to do. A worker process's replies are small (places), so it never
        waits on the parent to send one: the parent may wait on a worker to take a job, never the other way round,
        and they cannot both wait."""
        window: deque[_Job] = deque()
        sent: list[deque[_Job]] = [deque() for _ in self._conns]  # each worker process's jobs, oldest first
        source = iter(jobs)
        more = True
        while True:
            while more and len(window) < (len(self._conns) + 1) * AHEAD:
                args = next(source, None)
                if args is None:
                    more = False
                else:
                    window.append(_Job(args, owner(args)))
            for worker, jobs_sent in enumerate(sent):  # the answers already there: room for more jobs
                while jobs_sent and self._conns[worker].poll(0):
                    jobs_sent.popleft().finish(self._reply(worker))
            for job in window:  # to the worker processes with room, in order
                if job.done or job.worker is not None:
                    continue
                worker = (
                    job.owner
                    if job.owner is not None
                    else min(range(len(sent)), key=lambda w: len(sent[w]), default=_LOCAL)
                )
                if worker != _LOCAL and len(sent[worker]) < AHEAD:
                    self._send(worker, kind, job.args)
                    job.worker = worker
                    sent[worker].append(job)
            if not window:
                return
            if window[0].done:
                yield window.popleft().value
                continue
            mine = next((j for j in window if not j.done and j.worker is None and j.owner in (None, _LOCAL)), None)
            if mine is not None:
                assert self._local is not None
                mine.finish(self._local.run(kind, mine.args))
                continue
            oldest = window[0].worker
            assert oldest is not None  # the oldest job is with a worker process: wait for it
            sent[oldest].popleft().finish(self._reply(oldest))

    def _send(self, worker: int, kind: str, args: tuple[Any, ...]) -> None:
        try:
            self._conns[worker].send_bytes(pickle.dumps((kind, args), pickle.HIGHEST_PROTOCOL))
        except OSError:
            raise self._stopped(worker) from None

    def _stopped(self, worker: int, what: str = "stopped without an answer") -> WorkerStopped:
        process = self._processes[worker]
        process.join(timeout=1)
        return WorkerStopped(
            f"worker process {process.pid} {what} (exit code {process.exitcode}); "
            "nothing was written: run again, or with --workers 1"
        )

    def _reply(self, worker: int) -> Any:
        conn = self._conns[worker]
        try:
            if not conn.poll(ANSWER_WITHIN):
                self._processes[worker].kill()
                raise self._stopped(worker, f"did not answer within {ANSWER_WITHIN} s and was stopped")
            status, value = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            raise self._stopped(worker) from None
        if status == "error":
            raise value
        return value
