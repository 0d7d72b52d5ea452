"""Simulation throughput: 100,000 lines × 31 sweep points on the vectorized path, and what it replaces.

Measured in one run, on the same generated county (``service.demo.generate_request``):

1. the vectorized path, in process: 31 points of ``target-review-gate.min_score`` 50..80, each point
   compiled, folded, allocated and summarized (dataset loading and column building are done once,
   before the clock starts, as in ``run_scenario``);
2. the domain path on a sample of lines (default 5,000) — plain evaluator and durable-rules, each
   ``matcher.match`` + ``Fold`` + allocation, no JSON — giving lines/s and the ratio to (1);
3. the same sweep through ``evaluate_jobs`` on a local process pool with 1 and then 2 workers, without
   and with the per-point verification (200, then 2,000 sampled lines on durable-rules), for the
   speed-up — next to how well this machine runs two busy processes at all (pure-Python calibration).

Usage::

    python -m bench.simulation_throughput [--lines 100000] [--sample 5000] [--seed 2021] [--heavy-sample 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

from service.demo import generate_request
from service.domain.decision import evaluate
from service.domain.records import parse_request
from service.engine import make_matcher
from service.policyfiles import default_root
from service.simulation.catalog import compile_variant, ruleset_catalog
from service.simulation.columns import from_request
from service.simulation.evaluate import decide, summary
from service.simulation.executors import open_backend
from service.simulation.fold import group_memberships
from service.simulation.runner import evaluate_jobs
from service.simulation.scenario import Scenario

POINTS = list(range(50, 81))


def _scenario(lines: int, seed: int, sample: int) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "bench",
            "title": {"zh": "基准", "en": "benchmark"},
            "dataset": {"generate": {"projects": lines, "seed": seed}},
            "ruleset": "wuding-county",
            "verify": {"sample": sample},
            "sweeps": [
                {
                    "name": "gate",
                    "axes": [{"parameter": "target-review-gate.min_score", "from": 50, "to": 80, "step": 1}],
                }
            ],
        }
    )


def vectorized_sweep(columns: Any, catalog: Any) -> float:
    start = time.perf_counter()
    groups = None
    for gate in POINTS:
        ruleset = compile_variant(catalog, "wuding-county", {"target-review-gate": {"min_score": gate}})
        if groups is None:  # the gate does not touch the cross-line rules: computed once, as the runner caches
            groups = {k: m.flagged for k, m in group_memberships(ruleset, columns).items()}
        summary(columns, decide(ruleset, columns, groups))
    return time.perf_counter() - start


def domain_rate(request: Any, catalog: Any, engine: str, sample: int) -> float:
    """Lines per second of the domain path (match + fold + allocation) on the first ``sample`` lines."""
    sub = request.model_copy(update={"projects": request.projects[:sample]})
    ruleset = compile_variant(catalog, "wuding-county", {"target-review-gate": {"min_score": 65}})
    matcher = make_matcher(ruleset, engine)  # type: ignore[arg-type]
    try:
        start = time.perf_counter()
        evaluate(sub, ruleset, matcher)
        elapsed = time.perf_counter() - start
    finally:
        matcher.close()
    return sample / elapsed


def pool_sweep(scenario: Scenario, request: Any, columns: Any, workers: int) -> float:
    with open_backend("process", workers) as backend:
        start = time.perf_counter()
        evaluate_jobs(scenario, request, columns, backend, default_root())
        return time.perf_counter() - start


def _burn(n: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - start


def machine_parallelism() -> float:
    """How much faster two busy processes finish two units of pure-Python work than one process does."""
    from concurrent.futures import ProcessPoolExecutor

    one = _burn(5_000_000) * 2
    with ProcessPoolExecutor(2) as pool:
        start = time.perf_counter()
        list(pool.map(_burn, [5_000_000] * 2))
        two = time.perf_counter() - start
    return one / two


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--heavy-sample", type=int, default=2000, help="verified lines per point, heavy run")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"machine: speed-up of 2 processes over 1 on pure-Python work {machine_parallelism():.2f}× (ideal 2.00×)")
    t = time.perf_counter()
    request = parse_request(generate_request(args.lines, args.seed, 2021))
    columns = from_request(request)
    catalog = ruleset_catalog("wuding-county", Path(default_root()))
    n = columns.size
    print(f"dataset: {n} lines (generate + parse + columns {time.perf_counter() - t:.1f} s, not timed below)")
    evaluations = n * len(POINTS)
    vec = vectorized_sweep(columns, catalog)
    vec_rate = evaluations / vec
    print(
        f"vectorized, in process: {len(POINTS)} points × {n} lines = {evaluations:,} line evaluations "
        f"in {vec:.2f} s ({vec_rate:,.0f} lines/s)"
    )
    for engine in ("plain", "durable-rules"):
        rate = domain_rate(request, catalog, engine, min(args.sample, n))
        print(
            f"domain path, {engine}, {min(args.sample, n)} lines: {rate:,.0f} lines/s; "
            f"vectorized is {vec_rate / rate:,.0f}× faster; the sweep would take {evaluations / rate:,.0f} s"
        )
    for sample in (0, 200, args.heavy_sample):
        scenario = _scenario(n, args.seed, sample)
        one = pool_sweep(scenario, request, columns, 1)
        two = pool_sweep(scenario, request, columns, 2)
        label = "no verification" if sample == 0 else f"verifying {sample} lines/point on durable-rules"
        print(f"process pool, {label}: 1 worker {one:.2f} s, 2 workers {two:.2f} s, speed-up {one / two:.2f}×")


if __name__ == "__main__":
    main()
