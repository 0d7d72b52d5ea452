"""Where evaluations run: in process, on a local process pool (default), or on a Dask cluster.

A backend ``share``s a large value once (the columns of a partition: a Dask scatter, or the value
itself locally) and ``submit``s calls returning ``concurrent.futures.Future`` objects, so the runner
is the same whatever runs the work. Results never depend on the backend: every task is a pure
function of its arguments and the runner orders results by job, not by completion.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class SerialExecutor(Executor):
    """Runs each call at once in the calling process (debugging, tests, tiny datasets)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the caller through the future, as a pool would
            future.set_exception(error)
        return future


class Backend(Protocol):
    name: str
    workers: int

    def share(self, value: Any) -> Any: ...

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]: ...


class LocalBackend:
    """A ``concurrent.futures`` executor (serial, process pool, or one the caller made)."""

    def __init__(self, executor: Executor, name: str, workers: int) -> None:
        self.executor = executor
        self.name = name
        self.workers = workers

    def share(self, value: Any) -> Any:
        return value

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self.executor.submit(fn, *args)


class DaskBackend:
    """A Dask distributed cluster: partitions are scattered once, calls go through its executor."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.executor = client.get_executor(pure=False)
        self.name = "dask"
        self.workers = max(1, len(client.scheduler_info().get("workers", {})))

    def share(self, value: Any) -> Any:
        return self.client.scatter(value, broadcast=False)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        result: Future[T] = self.executor.submit(fn, *args)
        return result


@contextmanager
def open_backend(
    executor: str | Executor = "process", workers: int | None = None, scheduler: str | None = None
) -> Iterator[Backend]:
    """The backend for ``executor`` ("serial", "process", "dask" or an Executor instance)."""
    if isinstance(executor, Executor):
        yield LocalBackend(executor, type(executor).__name__, workers or 1)
        return
    if scheduler is not None or executor == "dask":
        if scheduler is None:
            raise ValueError("the dask executor needs a scheduler address (e.g. tcp://127.0.0.1:8786)")
        from distributed import Client

        with Client(scheduler, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            yield DaskBackend(client)
        return
    if executor == "serial":
        yield LocalBackend(SerialExecutor(), "serial", 1)
        return
    if executor != "process":
        raise ValueError(f"unknown executor {executor!r} (serial, process or dask)")
    count = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=count) as pool:
        yield LocalBackend(pool, "process", count)
