"""End-to-end throughput and memory of the decision core: durable-rules against the plain evaluator.

What is timed is what a user waits for: the path of ``budget-rules recommend --format json``, that is
:func:`service.batch.recommend_stream` (validation, matching, the fold with explanations, allocation,
and the JSON text, written to a sink that only counts characters). Data generation, ruleset
compilation and matcher creation
happen once, outside the timings. The plain evaluator is the baseline: both engines run interleaved
(plain, durable, plain, durable, ...) in the same process, so machine noise hits both, and the median
of the runs is reported with the ratio durable/plain.

Sizes from 100,000 lines up run each engine in a fresh child process (``--child``), so the peak RSS
(``ru_maxrss``) of that child is the peak of one 100k decision. A separate child runs 10 consecutive
batches of 10k lines through one durable matcher and prints its RSS after each batch: memory must not
grow with the number of lines already processed.

Usage::

    python -m bench.core_throughput [--sizes 1000,10000,100000] [--repeat N] [--seed 2021]
                                    [--profile-sizes 10000] [--flat-batches 10] [--no-flat]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import gc
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.batch import recommend_stream
from service.demo import generate_request
from service.domain.decision import Matcher, allocate, result_document
from service.domain.evaluation import Fold
from service.domain.facts import request_facts
from service.domain.records import parse_request
from service.domain.ruleset import CompiledRuleset
from service.engine import EngineName, make_matcher
from service.policyfiles import Catalog

RULESET = "wuding-county"
BASELINE: EngineName = "plain"
CANDIDATE: EngineName = "durable-rules"
ENGINE_ORDER: tuple[EngineName, ...] = (BASELINE, CANDIDATE)
TARGET_LINES_PER_SECOND = 5_000  # issue 2, every size
TARGET_LINES_PER_SECOND_10K = 30_000  # issue 16, in process at 10,000 lines
TARGET_PEAK_MB = 150.0  # issue 16 (issue 2 asked for 300)
CHILD_FROM_SIZE = 100_000  # default: sizes at or above this run in fresh child processes (peak memory per engine)
FLAT_BATCHES = 10
FLAT_BATCH_SIZE = 10_000
REPO_ROOT = Path(__file__).resolve().parents[1]

Raw = dict[str, Any]


# ------------------------------------------------------------------------------------------ data


def make_raw(lines: int, seed: int) -> Raw:
    """A demo request with exactly ``lines`` lines when possible (projects plus basic lines).

    ``generate_request`` adds one or two basic lines per unit to ``n_projects`` projects, so the
    number of projects is adjusted until the total matches (the basic lines do not depend on it
    within one county count).
    """
    n_projects = lines
    raw: Raw = generate_request(n_projects=n_projects, seed=seed)
    for _ in range(4):
        got = len(raw["projects"])
        if got == lines:
            break
        n_projects = max(1, n_projects + lines - got)
        raw = generate_request(n_projects=n_projects, seed=seed)
    return raw


def load_ruleset() -> CompiledRuleset:
    """The shipped ruleset, compiled once."""
    return Catalog.load().compile(RULESET)


# ------------------------------------------------------------------------------------ measuring


class _CountingSink(io.StringIO):
    """A text sink that keeps nothing: it counts characters (the CLI writes to a file instead)."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def end_to_end(raw: Raw, compiled: CompiledRuleset, matcher: Matcher) -> int:
    """What a user waits for: validate, recommend, encode (the CLI's streamed path). Returns the JSON length."""
    sink = _CountingSink()
    own = {**raw, "projects": list(raw["projects"])}  # the stream releases the items of its own list
    recommend_stream(own, compiled, matcher, sink)
    return sink.chars


def warm_up(compiled: CompiledRuleset, matchers: dict[EngineName, Matcher], seed: int) -> None:
    """One small untimed decision per engine, so first-call costs (lazy imports, caches) stay out of timings."""
    warm = make_raw(300, seed)
    for matcher in matchers.values():
        end_to_end(warm, compiled, matcher)


def time_end_to_end(raw: Raw, compiled: CompiledRuleset, matcher: Matcher) -> tuple[float, int, float]:
    """Seconds for one end-to-end decision (garbage from earlier runs collected first), JSON length, CPU seconds.

    CPU seconds (``time.process_time``) are what this process itself used: on a machine shared with other jobs
    they move much less than wall-clock seconds.
    """
    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    chars = end_to_end(raw, compiled, matcher)
    return time.perf_counter() - start, chars, time.process_time() - start_cpu


def close_matcher(matcher: Matcher) -> None:
    """Free the engine's resources (the ``Matcher`` protocol itself has no ``close``)."""
    close: Callable[[], None] | None = getattr(matcher, "close", None)
    if close is not None:
        close()


def rss_mb() -> float:
    """Current resident set size of this process in MB, from /proc/self/statm."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        resident_pages = int(handle.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def trimmed_rss_mb() -> float:
    """RSS after asking glibc to return free heap pages (``malloc_trim(0)``): live memory, less allocator slack.

    Falls back to the plain RSS where glibc is not available.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB.

    ``VmHWM`` from /proc/self/status: the high-water mark of this process image. ``ru_maxrss`` (KiB on
    Linux) is the fallback only, because a child started by fork+exec inherits its parent's
    ``ru_maxrss`` (a child of a 4 GB parent reports 4 GB even if it never used more than 10 MB).
    """
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(slots=True)
class Measurement:
    """All runs of one engine at one size."""

    size: int
    lines: int
    engine: str
    runs: list[float]
    json_chars: int
    cpu_runs: list[float] = field(default_factory=list)
    start_rss_mb: float | None = None  # child only: RSS after data generation and setup
    peak_rss_mb: float | None = None  # child only: peak RSS of the whole child

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds

    @property
    def lines_per_cpu_second(self) -> float:
        return self.lines / statistics.median(self.cpu_runs) if self.cpu_runs else float("nan")


def measure_in_process(
    raw: Raw, size: int, compiled: CompiledRuleset, matchers: dict[EngineName, Matcher], repeat: int
) -> list[Measurement]:
    """Interleaved runs (plain, durable, plain, durable, ...) in this process."""
    lines = len(raw["projects"])
    results = {name: Measurement(size, lines, name, [], 0) for name in ENGINE_ORDER}
    for _ in range(repeat):
        for name in ENGINE_ORDER:
            seconds, chars, cpu = time_end_to_end(raw, compiled, matchers[name])
            results[name].runs.append(seconds)
            results[name].cpu_runs.append(cpu)
            results[name].json_chars = chars
    return [results[name] for name in ENGINE_ORDER]


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run this module with ``--child SPEC`` in a fresh interpreter and return its JSON report."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.core_throughput", "--child", json.dumps(spec)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"child {spec} failed:\n{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


def measure_in_children(size: int, repeat: int, seed: int) -> list[Measurement]:
    """Interleaved runs, each engine and each repeat in its own fresh child; peak RSS is the worst child's."""
    results: dict[str, Measurement] = {}
    for _ in range(repeat):
        for name in ENGINE_ORDER:
            report = run_child({"mode": "throughput", "engine": name, "size": size, "seed": seed})
            current = results.setdefault(name, Measurement(size, report["lines"], name, [], report["json_chars"]))
            current.runs.append(report["seconds"])
            current.cpu_runs.append(report["cpu_seconds"])
            current.start_rss_mb = max(current.start_rss_mb or 0.0, report["start_rss_mb"])
            current.peak_rss_mb = max(current.peak_rss_mb or 0.0, report["peak_rss_mb"])
    return [results[name] for name in ENGINE_ORDER]


# ------------------------------------------------------------------------------------- children


def child_throughput(engine: EngineName, size: int, seed: int) -> dict[str, Any]:
    """One end-to-end decision of ``size`` lines in this (fresh) process, with its peak RSS."""
    raw = make_raw(size, seed)
    compiled = load_ruleset()
    matcher = make_matcher(compiled, engine)
    try:
        warm_up(compiled, {engine: matcher}, seed)
        gc.collect()
        start_rss = rss_mb()
        seconds, chars, cpu = time_end_to_end(raw, compiled, matcher)
    finally:
        close_matcher(matcher)
    return {
        "lines": len(raw["projects"]),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "json_chars": chars,
        "start_rss_mb": start_rss,
        "peak_rss_mb": peak_rss_mb(),
    }


def child_flat(batches: int, batch_size: int, seed: int) -> dict[str, Any]:
    """Consecutive end-to-end batches through one durable matcher; RSS after each batch."""
    raw = make_raw(batch_size, seed)
    compiled = load_ruleset()
    matcher = make_matcher(compiled, CANDIDATE)
    rows: list[dict[str, Any]] = []
    processed = 0
    try:
        for index in range(1, batches + 1):
            seconds, _, _ = time_end_to_end(raw, compiled, matcher)
            processed += len(raw["projects"])
            gc.collect()
            rows.append(
                {
                    "batch": index,
                    "processed": processed,
                    "seconds": seconds,
                    "rss_mb": rss_mb(),
                    "trimmed_mb": trimmed_rss_mb(),
                    "objects": len(gc.get_objects()),
                }
            )
    finally:
        close_matcher(matcher)
    return {"lines": len(raw["projects"]), "rows": rows, "peak_rss_mb": peak_rss_mb()}


def child_main(spec_text: str) -> int:
    """Entry point of a child process: run one measurement and print its report as one JSON line."""
    spec = json.loads(spec_text)
    if spec["mode"] == "throughput":
        report = child_throughput(spec["engine"], spec["size"], spec["seed"])
    elif spec["mode"] == "flat":
        report = child_flat(spec["batches"], spec["batch_size"], spec["seed"])
    else:
        raise ValueError(f"unknown child mode {spec['mode']!r}")
    print(json.dumps(report))
    return 0


# ------------------------------------------------------------------------------------ breakdown


def _timed(stages: list[tuple[str, float]], label: str, call: Callable[[], Any]) -> Any:
    gc.collect()
    start = time.perf_counter()
    value = call()
    stages.append((label, time.perf_counter() - start))
    return value


def breakdown(raw: Raw, compiled: CompiledRuleset, matchers: dict[EngineName, Matcher]) -> list[tuple[str, float]]:
    """The durable path stage by stage (same calls as ``recommend``), plus plain matching for comparison."""
    stages: list[tuple[str, float]] = []
    request = _timed(stages, "validation   parse_request(raw)", lambda: parse_request(raw))
    facts = _timed(stages, "facts        request_facts(request)", lambda: request_facts(request))
    matches = _timed(stages, "matching     durable matcher.match(facts)", lambda: matchers[CANDIDATE].match(facts))
    outcomes = _timed(
        stages, "fold         Fold(ruleset).run(...)", lambda: Fold(compiled).run(request, facts, matches)
    )
    evaluation = _timed(stages, "allocation   allocate(...)", lambda: allocate(request, compiled, outcomes))
    document = _timed(stages, "document     result_document(...)", lambda: result_document(evaluation))
    _timed(stages, "JSON         json.dumps(result)", lambda: json.dumps(document, ensure_ascii=False))
    plain: list[tuple[str, float]] = []
    _timed(plain, "(plain matcher.match(facts), for comparison)", lambda: matchers[BASELINE].match(facts))
    return stages + plain


def print_breakdown(lines: int, stages: Sequence[tuple[str, float]]) -> None:
    durable = stages[:-1]
    total = sum(seconds for _, seconds in durable)
    print(f"\nWhere the time goes: durable-rules path, {lines:,} lines (one run)")
    print(f"{'stage':<46} {'seconds':>8} {'share':>6} {'µs/line':>8}")
    for label, seconds in durable:
        print(f"{label:<46} {seconds:>8.3f} {seconds / total:>6.1%} {seconds / lines * 1e6:>8.1f}")
    print(f"{'total':<46} {total:>8.3f} {1:>6.0%} {total / lines * 1e6:>8.1f}  ({lines / total:,.0f} lines/s)")
    label, seconds = stages[-1]
    print(f"{label:<46} {seconds:>8.3f} {'':>6} {seconds / lines * 1e6:>8.1f}")


def memory_breakdown(raw: Raw, compiled: CompiledRuleset, matcher: Matcher) -> list[tuple[str, float]]:
    """Live Python memory (tracemalloc, MiB) added by each stage of the durable path, every result kept alive.

    Starts from ``raw`` re-parsed from its JSON text, so the request dict is counted too. Run after the timings:
    tracemalloc slows allocation down about twice.
    """
    stages: list[tuple[str, float]] = []
    gc.collect()
    tracemalloc.start()
    last = 0.0

    def step(label: str, value: Any) -> Any:
        nonlocal last
        gc.collect()
        current = tracemalloc.get_traced_memory()[0] / 2**20
        stages.append((label, current - last))
        last = current
        return value

    try:
        own = step("request dict (as parsed from JSON)", json.loads(json.dumps(raw, ensure_ascii=False)))
        request = step("BudgetRequest   parse_request", parse_request(own))
        facts = step("facts           request_facts", request_facts(request))
        matches = step("matches         matcher.match", matcher.match(facts))
        outcomes = step("outcomes        Fold.run (explanations)", Fold(compiled).run(request, facts, matches))
        evaluation = step("allocation      allocate", allocate(request, compiled, outcomes))
        document = step("result document result_document", result_document(evaluation))
        step("JSON text       json.dumps", json.dumps(document, ensure_ascii=False))
        stages.append(("peak while building all of the above", tracemalloc.get_traced_memory()[1] / 2**20))
    finally:
        tracemalloc.stop()
    return stages


def print_memory_breakdown(lines: int, stages: Sequence[tuple[str, float]]) -> None:
    print(f"\nWhere the memory goes: durable-rules path, {lines:,} lines, live Python memory (tracemalloc)")
    print(f"{'stage':<42} {'MiB':>8} {'KiB/line':>9}")
    for label, mib in stages[:-1]:
        print(f"{label:<42} {mib:>8.1f} {mib * 1024 / lines:>9.2f}")
    total = sum(mib for _, mib in stages[:-1])
    print(f"{'all kept alive at the end':<42} {total:>8.1f} {total * 1024 / lines:>9.2f}")
    label, peak = stages[-1]
    print(f"{label:<42} {peak:>8.1f} {peak * 1024 / lines:>9.2f}")


def print_profile(raw: Raw, compiled: CompiledRuleset, matcher: Matcher, top: int = 15) -> None:
    """cProfile of one end-to-end durable decision: top functions by own time and by cumulative time."""
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    end_to_end(raw, compiled, matcher)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(top)
        body = out.getvalue()
        start = body.find("   ncalls")
        print(f"\ncProfile, durable-rules end to end, {len(raw['projects']):,} lines, top {top} by {order}")
        print(body[start:].rstrip() if start >= 0 else body.rstrip())


# -------------------------------------------------------------------------------------- reports


def print_machine() -> None:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print(f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.platform()}")


def print_table(measurements: Sequence[Measurement]) -> None:
    print(
        f"\n{'size':>7} {'lines':>7} {'engine':<13} {'runs':>4} {'seconds':>8} {'lines/s':>8} "
        f"{'ratio':>6} {'>=5k/s':>6} {'JSON MB':>8} {'start MB':>8} {'peak MB':>8} {'lines/CPU-s':>11}"
    )
    baseline: dict[int, float] = {}
    for m in measurements:
        if m.engine == BASELINE:
            baseline[m.size] = m.seconds
        ratio = m.seconds / baseline[m.size] if m.size in baseline else float("nan")
        met = "yes" if m.lines_per_second >= TARGET_LINES_PER_SECOND else "NO"
        start = f"{m.start_rss_mb:8.0f}" if m.start_rss_mb is not None else f"{'-':>8}"
        peak = f"{m.peak_rss_mb:8.0f}" if m.peak_rss_mb is not None else f"{'-':>8}"
        print(
            f"{m.size:>7} {m.lines:>7} {m.engine:<13} {len(m.runs):>4} {m.seconds:>8.3f} "
            f"{m.lines_per_second:>8,.0f} {ratio:>6.2f} {met:>6} {m.json_chars / 1e6:>8.1f} {start} {peak} "
            f"{m.lines_per_cpu_second:>11,.0f}"
        )
    print("ratio = durable seconds / plain seconds (same size, interleaved runs, medians)")
    print("JSON MB = characters of the result JSON, in millions; start MB = child RSS before the timed run")
    print("lines/CPU-s = lines per second of CPU time used by the measuring process (median), less load-dependent")


def print_flat(report: dict[str, Any]) -> tuple[int, float]:
    """Print RSS and object counts after each batch; return (batch, trimmed-RSS growth in MB from batch 2 to it)."""
    rows = report["rows"]
    print(f"\nMemory vs lines already processed: {len(rows)} batches of {report['lines']:,} lines, one durable matcher")
    print(f"{'batch':>5} {'processed':>10} {'seconds':>8} {'RSS MB':>8} {'trimmed':>8} {'objects':>8}")
    for row in rows:
        print(
            f"{row['batch']:>5} {row['processed']:>10,} {row['seconds']:>8.3f} "
            f"{row['rss_mb']:>8.1f} {row['trimmed_mb']:>8.1f} {row['objects']:>8,}"
        )
    if len(rows) < 2:
        return 1, 0.0
    end = rows[min(len(rows), FLAT_BATCHES) - 1]
    growth: float = end["trimmed_mb"] - rows[1]["trimmed_mb"]
    print(
        f"growth from batch 2 to batch {end['batch']}: RSS {end['rss_mb'] - rows[1]['rss_mb']:+.1f} MB, "
        f"trimmed RSS {growth:+.1f} MB, live objects {end['objects'] - rows[1]['objects']:+,}"
    )
    if len(rows) > FLAT_BATCHES:
        print(
            f"growth from batch {end['batch']} to batch {len(rows)}: trimmed RSS "
            f"{rows[-1]['trimmed_mb'] - end['trimmed_mb']:+.1f} MB"
        )
    later = rows[1:]
    low, high = min(r["rss_mb"] for r in later), max(r["rss_mb"] for r in later)
    print(f"RSS range over batches 2..{len(rows)}: {low:.1f}..{high:.1f} MB; peak RSS {report['peak_rss_mb']:.0f} MB")
    print("trimmed = RSS after malloc_trim(0): the RSS column includes heap pages glibc keeps after free")
    return end["batch"], growth


def print_verdict(measurements: Sequence[Measurement], flat_growth: tuple[int, float] | None) -> None:
    print("\nTargets")
    for m in measurements:
        if m.engine != CANDIDATE:
            continue
        ok = m.lines_per_second >= TARGET_LINES_PER_SECOND
        verdict = "met" if ok else "NOT met"
        print(f"  {m.lines:>7,} lines durable end to end: {m.lines_per_second:,.0f} lines/s -> {verdict}")
        if m.size == 10_000:
            ok_10k = m.lines_per_second >= TARGET_LINES_PER_SECOND_10K
            print(
                f"  {m.lines:>7,} lines durable in one process, issue 16 target {TARGET_LINES_PER_SECOND_10K:,} "
                f"lines/s: {m.lines_per_second:,.0f} lines/s ({m.lines_per_cpu_second:,.0f} per CPU second) -> "
                f"{'met' if ok_10k else 'NOT met'} (on one process per core: python -m bench.workers)"
            )
    for m in measurements:
        if m.peak_rss_mb is not None:
            ok = m.peak_rss_mb < TARGET_PEAK_MB
            print(f"  {m.lines:>7,} lines {m.engine} peak RSS: {m.peak_rss_mb:,.0f} MB -> {'met' if ok else 'NOT met'}")
    if flat_growth is not None:
        batch, growth = flat_growth
        print(f"  trimmed RSS growth over batches 2..{batch}: {growth:+.1f} MB (see the batch table)")


# ----------------------------------------------------------------------------------------- main


def default_repeat(size: int) -> int:
    return 3 if size <= 10_000 else 1


def parse_sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.core_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[1_000, 10_000, 100_000], help="lines per request")
    parser.add_argument("--repeat", type=int, default=None, help="runs per engine (default 3 up to 10k, 1 above)")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument(
        "--child-from", type=int, default=CHILD_FROM_SIZE, help="sizes from this up run in fresh child processes"
    )
    parser.add_argument("--profile-sizes", type=parse_sizes, default=[], help="cProfile durable at these sizes")
    parser.add_argument("--flat-batches", type=int, default=FLAT_BATCHES, help="10k-line batches in the memory run")
    parser.add_argument("--no-flat", action="store_true", help="skip the memory-flatness batches")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def run_sizes(
    args: argparse.Namespace, compiled: CompiledRuleset, matchers: dict[EngineName, Matcher]
) -> tuple[list[Measurement], Raw | None]:
    """The throughput table's measurements, and the request to break down (10k lines, else the first in-process)."""
    measurements: list[Measurement] = []
    breakdown_raw: Raw | None = None
    for size in args.sizes:
        repeat = args.repeat or default_repeat(size)
        if size >= args.child_from:
            measurements += measure_in_children(size, repeat, args.seed)
        else:
            raw = make_raw(size, args.seed)
            measurements += measure_in_process(raw, size, compiled, matchers, repeat)
            if breakdown_raw is None or size == 10_000:
                breakdown_raw = raw
        print(f"... {size:,} lines done", file=sys.stderr, flush=True)
    return measurements, breakdown_raw


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        return child_main(args.child)
    print_machine()
    print(f"command: python -m bench.core_throughput {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    compiled = load_ruleset()
    matchers: dict[EngineName, Matcher] = {name: make_matcher(compiled, name) for name in ENGINE_ORDER}
    warm_up(compiled, matchers, args.seed)
    measurements, breakdown_raw = run_sizes(args, compiled, matchers)
    print_table(measurements)
    if breakdown_raw is not None:
        lines = len(breakdown_raw["projects"])
        print_breakdown(lines, breakdown(breakdown_raw, compiled, matchers))
        print_memory_breakdown(lines, memory_breakdown(breakdown_raw, compiled, matchers[CANDIDATE]))
    flat_growth = None
    if not args.no_flat:
        spec = {"mode": "flat", "batches": args.flat_batches, "batch_size": FLAT_BATCH_SIZE, "seed": args.seed}
        flat_growth = print_flat(run_child(spec))
    for size in args.profile_sizes:
        print_profile(make_raw(size, args.seed), compiled, matchers[CANDIDATE])
    print_verdict(measurements, flat_growth)
    for matcher in matchers.values():
        close_matcher(matcher)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
