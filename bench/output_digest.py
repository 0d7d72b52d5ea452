"""Byte-identity guard for speed work: the same request files give the same result bytes before and after.

The speed work of issue 16 must not change a single byte of any result. This script exports a baseline
revision of the code (``git archive``) and runs it and the current working tree, each in a fresh child
process, on the same request files: the embedded demo county, and the generated 1,000/10,000/100,000-line
requests of ``bench/peers.py``. For each file it hashes (SHA-256)

- ``stream``: the streamed JSON document of ``budget-rules recommend --format json`` (:func:`recommend_stream`,
  what the command line writes), and
- ``memory``: the in-memory document of :func:`service.domain.decision.recommend` (what the HTTP service
  stores and returns) as compact JSON; skipped from 100,000 lines up (it needs about 1 GB), and
- ``workers``: the streamed document made on two worker processes (:mod:`service.batchpool`, what the command
  does with a large file), compared with the baseline's ``stream`` (a tree without workers has no such row),

both through durable-rules with a fixed ``decision_id`` (otherwise a fresh UUID each run). It prints one row
per file and exits 1 if any digest differs.

Usage::

    python -m bench.output_digest [--baseline main] [--sizes 1000,10000,100000] [--engine durable-rules]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.peers import REPO_ROOT, request_files

# Runs in a child interpreter against one code tree (on PYTHONPATH). It uses only interfaces that every
# revision since the streamed path has: recommend_stream, recommend, parse_request, Catalog, make_matcher.
CHILD = r"""
import copy, hashlib, inspect, io, json, sys
from service.batch import recommend_stream
from service.domain.decision import recommend
from service.domain.records import parse_request
from service.engine import make_matcher
from service.io.readers import read_request
from service.policyfiles import Catalog

engine, memory_below, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
catalog = Catalog.load()
out = {}
for path in paths:
    raw = dict(read_request(path).data)
    lines = len(raw["projects"])
    compiled = catalog.compile(raw.get("ruleset") or "wuding-county")
    matcher = make_matcher(compiled, engine)
    try:
        row = {}
        if lines < memory_below:
            document = recommend(parse_request(raw), compiled, matcher, decision_id="digest")
            text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            row["memory"] = hashlib.sha256(text.encode()).hexdigest()
            del document, text
        if "workers" in inspect.signature(recommend_stream).parameters:  # worker processes, as the CLI reads a file
            given = copy.deepcopy(raw)
            items = iter(given.pop("projects"))
            given["projects"] = []
            sink = io.StringIO()
            recommend_stream(given, compiled, matcher, sink, decision_id="digest", projects=items, workers=2)
            row["workers"] = hashlib.sha256(sink.getvalue().encode()).hexdigest()
            del given, items, sink
        sink = io.StringIO()
        recommend_stream(raw, compiled, matcher, sink, decision_id="digest")
        row["stream"] = hashlib.sha256(sink.getvalue().encode()).hexdigest()
        row["chars"] = len(sink.getvalue())
    finally:
        matcher.close()
    out[path] = row
print(json.dumps(out))
"""

MEMORY_BELOW = 100_000


def export(revision: str, into: Path) -> Path:
    """The tree of ``revision`` as files under ``into`` (no checkout, no effect on the working tree)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    tar_path = into / "tree.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def digests(tree: Path, engine: str, paths: Sequence[Path]) -> dict[str, dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, engine, str(MEMORY_BELOW), *map(str, paths)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"digest child in {tree} failed:\n{completed.stderr}")
    result: dict[str, dict[str, object]] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.output_digest", description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="main", help="git revision to compare with (default main)")
    parser.add_argument("--sizes", default="1000,10000,100000", help="generated request sizes, in lines")
    parser.add_argument("--engine", default="durable-rules")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    paths = [REPO_ROOT / "demo" / "wuding-county-2021.json", *request_files(sizes).values()]
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "service"], cwd=REPO_ROOT, capture_output=True)
    print(f"baseline {args.baseline}; current: working tree at {head}{' (+ edits)' if dirty.stdout else ''}")
    with tempfile.TemporaryDirectory(prefix="digest-") as tmp:
        started = time.perf_counter()
        before = digests(export(args.baseline, Path(tmp)), args.engine, paths)
        after = digests(REPO_ROOT, args.engine, paths)
        seconds = time.perf_counter() - started
    same = True
    print(f"{'file':<38} {'kind':<7} {'chars':>12}  {'baseline sha256':<16}  {'current sha256':<16}  same")
    for path in paths:
        for kind in ("stream", "memory", "workers"):
            # the workers' document is compared with the baseline's one-process stream
            old = before[str(path)].get("stream" if kind == "workers" else kind)
            new = after[str(path)].get(kind)
            if kind == "workers" and new is None:
                continue
            if old is None and new is None:
                continue
            ok = old == new
            same = same and ok
            chars = after[str(path)]["chars"]
            verdict = "yes" if ok else "NO"
            print(f"{path.name:<38} {kind:<7} {chars:>12,}  {str(old)[:16]:<16}  {str(new)[:16]:<16}  {verdict}")
    print(f"{'byte-identical' if same else 'DIFFERENT'} ({seconds:.0f} s)")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
