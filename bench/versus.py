"""Two code trees, the same requests, interleaved: lines per CPU second of the decision path, and peak memory.

On a machine shared by several people the wall clock and even one tree's CPU figures drift with the load;
comparing a baseline revision with the working tree in alternating child processes, in the same minutes,
gives a ratio that the load moves much less. For each round and tree a fresh child interpreter (code tree on
``PYTHONPATH``) times, in CPU seconds (``time.process_time``), on the generated ``--size``-line request:

- ``memory``: ``parse_request`` + ``recommend`` + canonical JSON of the result (what the HTTP service does
  before its database write; the canonical form is whichever the tree's ``service.app.decisions`` uses), and
- ``stream``: ``recommend_stream`` into a null file (what ``budget-rules recommend --format json`` does after
  reading the file),

best of ``--repeat`` runs each, and reports the child's peak RSS.

Usage::

    python -m bench.versus [--baseline int3] [--size 10000] [--rounds 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.output_digest import export
from bench.peers import REPO_ROOT, load, request_files

CHILD = r"""
import json, resource, sys, time
from service.batch import recommend_stream
from service.domain.decision import recommend
from service.domain.records import parse_request
from service.engine import make_matcher
from service.io.readers import read_request
from service.policyfiles import Catalog
import service.domain.ruleset as ruleset_module
canonical = getattr(ruleset_module, "canonical_result_json", ruleset_module.canonical_json)
path, repeat = sys.argv[1], int(sys.argv[2])
catalog = Catalog.load()
data = dict(read_request(path).data)
compiled = catalog.compile(data.get("ruleset") or "wuding-county")
matcher = make_matcher(compiled, "durable-rules")
lines = len(data["projects"])
best = {}
for _ in range(repeat):
    raw = dict(read_request(path).data)
    start = time.process_time()
    result = recommend(parse_request(raw), compiled, matcher, decision_id="versus")
    canonical(result)
    best["memory"] = min(best.get("memory", 1e9), time.process_time() - start)
    del result, raw
    raw = dict(read_request(path).data)
    with open("/dev/null", "w") as sink:
        start = time.process_time()
        recommend_stream(raw, compiled, matcher, sink, decision_id="versus")
        best["stream"] = min(best.get("stream", 1e9), time.process_time() - start)
    del raw
out = {k: lines / v for k, v in best.items()}
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000
print(json.dumps(out))
"""


def run(tree: Path, request: Path, repeat: int) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(request), str(repeat)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"child in {tree} failed:\n{completed.stderr}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.versus", description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="int3", help="git revision to compare with")
    parser.add_argument("--size", type=int, default=10_000, help="lines of the generated request")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs per child (the best counts)")
    args = parser.parse_args(argv)
    request = request_files([args.size])[args.size]
    print(f"baseline {args.baseline} against the working tree; {args.size:,} lines; load {load()}")
    print(f"{'round':>5} {'tree':<10} {'memory lines/CPU-s':>19} {'stream lines/CPU-s':>19} {'peak MB':>8}")
    with tempfile.TemporaryDirectory(prefix="versus-") as tmp:
        trees = {"baseline": export(args.baseline, Path(tmp)), "current": REPO_ROOT}
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for round_ in range(1, args.rounds + 1):
            for name, tree in trees.items():
                row = run(tree, request, args.repeat)
                rows[name].append(row)
                print(f"{round_:>5} {name:<10} {row['memory']:>19,.0f} {row['stream']:>19,.0f} {row['peak_mb']:>8.0f}")
    for kind in ("memory", "stream"):
        before = max(r[kind] for r in rows["baseline"])
        after = max(r[kind] for r in rows["current"])
        print(f"{kind}: best {before:,.0f} -> {after:,.0f} lines per CPU second ({after / before:.2f}x)")
    print(f"load at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
