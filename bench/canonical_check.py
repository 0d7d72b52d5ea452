"""Check that :func:`canonical_result_json` (orjson) writes the same characters as :func:`canonical_json` (stdlib).

The HTTP service stores and hashes a recommendation's result as canonical JSON; the audit chain depends on
those exact characters. This script decides, through durable-rules, the embedded demo county and the
generated requests of ``bench/peers.py`` (random lines from a fixed seed, plus ``--seeds`` more small ones),
writes each result both ways and compares them; it also times both. Exits 1 on any difference.

Usage::

    python -m bench.canonical_check [--sizes 1000,10000] [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bench.peers import REPO_ROOT, request_files
from service.domain.decision import recommend
from service.domain.records import parse_request
from service.domain.ruleset import canonical_json, canonical_result_json
from service.engine import make_matcher
from service.io.readers import read_request
from service.policyfiles import Catalog


def _compare(name: str, raw: dict[str, Any], catalog: Catalog) -> bool:
    compiled = catalog.compile(raw.get("ruleset") or "wuding-county")
    result = recommend(parse_request(raw), compiled, make_matcher(compiled, "durable-rules"), decision_id="check")
    start = time.perf_counter()
    stdlib = canonical_json(result)
    middle = time.perf_counter()
    fast = canonical_result_json(result)
    end = time.perf_counter()
    same = stdlib == fast
    print(
        f"{name:>24} {len(result['lines']):>7,} lines {len(stdlib.encode()) / 1e6:7.2f} MB "
        f"stdlib {1000 * (middle - start):8.1f} ms  orjson {1000 * (end - middle):7.1f} ms  "
        f"{'identical' if same else 'DIFFERENT'}"
    )
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--seeds", type=int, default=5, help="more generated 200-line requests, seeds 1..N")
    args = parser.parse_args(argv)
    catalog = Catalog.load()
    demo = REPO_ROOT / "demo" / "wuding-county-2021.json"
    ok = _compare("demo", dict(read_request(demo).data), catalog)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for path in request_files(sizes).values():
        ok = _compare(path.name, dict(read_request(path).data), catalog) and ok
    for seed in range(1, args.seeds + 1):
        for path in request_files([200], seed=seed).values():
            ok = _compare(f"seed {seed}: {path.name}", dict(read_request(path).data), catalog) and ok
    print("all identical" if ok else "DIFFERENCES FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
