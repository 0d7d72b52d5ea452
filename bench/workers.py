"""The streamed decision in one process against the same on several processes (issue 16, service/batchpool.py).

In one process, on the generated request files of ``bench/peers.py``, read as ``budget-rules recommend
FILE.json`` reads them (:class:`service.io.jsonstream.JsonRequestStream`, a line at a time), each size decided
by :func:`service.batch.recommend_stream` with ``workers=1`` (the baseline) and with ``--workers`` processes
(this one and the worker processes it forks), taking turns (one, N, one, N, ...) so machine noise hits both.
The document goes to a sink that only counts characters. Printed per size: the medians, lines per second, the
ratio N/1 (above 1.0: N processes are faster), and the CPU seconds of the parent and of the worker processes
(from ``os.times``), because on some machines two busy processes each run about 40% slower than one alone
(docs/benchmarks.md).

Usage::

    python -m bench.workers [--sizes 2000,10000,100000] [--repeat 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.core_throughput import _CountingSink
from service.batch import POOLED_FROM, recommend_stream
from service.batchpool import default_workers
from service.domain.ruleset import CompiledRuleset
from service.engine import make_matcher
from service.io.jsonstream import JsonRequestStream
from service.policyfiles import Catalog


def once(path: Path, compiled: CompiledRuleset, workers: int) -> tuple[float, float, float, int]:
    """Wall seconds, parent CPU seconds, workers' CPU seconds, characters of one decision of ``path``."""
    matcher = make_matcher(compiled)
    stream = JsonRequestStream(path)
    sink = _CountingSink()
    before, started = os.times(), time.perf_counter()
    try:
        recommend_stream(stream.raw, compiled, matcher, sink, projects=stream.projects, workers=workers)
    finally:
        stream.close()
        getattr(matcher, "close", lambda: None)()
    wall, after = time.perf_counter() - started, os.times()
    parent = after.user + after.system - before.user - before.system
    children = after.children_user + after.children_system - before.children_user - before.children_system
    return wall, parent, max(children, 0.0), sink.chars


def main(argv: Sequence[str] | None = None) -> int:
    from bench.peers import load, request_files

    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default="2000,10000,100000", help=f"lines per request (workers from {POOLED_FROM:,})"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    if args.workers < 2:
        print("--workers must be 2 or more (1 is the baseline)", file=sys.stderr)
        return 2
    print(f"Python {platform.python_version()}; {args.workers} workers against one process; {args.repeat} runs each")
    print(f"command: python -m bench.workers {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(f"load average at start: {load()}")
    compiled = Catalog.load().compile("wuding-county")
    files = request_files(sizes)
    once(files[sizes[0]], compiled, 1)  # first-call costs (lazy imports, caches) outside the timings
    heads = ("lines", 8), ("workers", 7), ("median s", 9), ("lines/s", 9), ("ratio", 6), ("parent CPU s", 13)
    print("\n" + " ".join(f"{name:>{width}}" for name, width in heads) + f" {'workers CPU s':>14}")
    for size in sizes:
        runs: dict[int, list[tuple[float, float, float, int]]] = {1: [], args.workers: []}
        for _ in range(args.repeat):
            for workers in runs:
                runs[workers].append(once(files[size], compiled, workers))
        chars = {run[3] for results in runs.values() for run in results}
        assert len(chars) == 1, f"different documents at {size} lines: {chars}"
        base = statistics.median(run[0] for run in runs[1])
        for workers, results in runs.items():
            wall = statistics.median(run[0] for run in results)
            parent = statistics.median(run[1] for run in results)
            children = statistics.median(run[2] for run in results)
            print(
                f"{size:>8,} {workers:>7} {wall:>9.3f} {size / wall:>9,.0f} {base / wall:>6.2f} "
                f"{parent:>13.2f} {children:>14.2f}"
            )
    print("ratio = one process's median / this median (above 1.0: faster than one process)")
    print(f"load average at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
