"""Instructions per line of the streamed decision path, a baseline revision against the working tree.

On this kind of machine (2 shared cores, other people's jobs) wall-clock and even CPU-second figures of the
same code move by 30–50% from one minute to the next. The number of instructions a run executes does not
depend on the load: valgrind's cachegrind counts them (``--cache-sim=no``, about 50x slower than a normal
run). Each tree runs the same child twice under cachegrind, once with one untimed warm-up decision and once
with ``1 + --repeat`` decisions of the same ``--size``-line request through ``recommend_stream`` (what
``budget-rules recommend --format json`` does after reading the file; durable-rules, the shipped ruleset);
the difference, divided by ``--repeat × --size``, is the cost of one line, start-up and imports cancelled.

Instructions are not time: memory stalls and branch misses are not in them. They are a steady yardstick for
steps that change how much work is done, which is what most speed changes are. Needs ``valgrind`` on PATH.

Usage::

    python -m bench.instructions [--baseline b7836dd] [--size 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.output_digest import export
from bench.peers import REPO_ROOT

CHILD = r"""
import sys
from bench.core_throughput import load_ruleset, make_raw, end_to_end
from service.engine.durable import DurableRulesMatcher
size, runs = int(sys.argv[1]), int(sys.argv[2])
raw = make_raw(size, 2021)
compiled = load_ruleset()
matcher = DurableRulesMatcher(compiled)
for _ in range(runs):
    end_to_end(raw, compiled, matcher)
"""
_REFS = re.compile(r"I\s+refs:\s+([0-9,]+)")


def instructions(tree: Path, size: int, runs: int) -> int:
    """Instructions executed by the child in ``tree`` deciding ``runs`` times (valgrind cachegrind)."""
    completed = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD,
            str(size),
            str(runs),
        ],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    found = _REFS.search(completed.stderr)
    if completed.returncode != 0 or not found:
        raise RuntimeError(f"cachegrind child in {tree} failed:\n{completed.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_line(tree: Path, size: int, repeat: int) -> float:
    with ThreadPoolExecutor(max_workers=2) as pool:  # the two runs are independent: one per core
        once, more = pool.map(lambda runs: instructions(tree, size, runs), (1, 1 + repeat))
    return (more - once) / (repeat * size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="b7836dd", help="git revision to compare with (default: %(default)s)")
    parser.add_argument("--size", type=int, default=2000, help="lines in the request (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="decisions counted (default: %(default)s)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="br-instructions-") as scratch:
        baseline_tree = export(args.baseline, Path(scratch))
        rows = [(args.baseline, per_line(baseline_tree, args.size, args.repeat))]
        rows.append(("working tree", per_line(REPO_ROOT, args.size, args.repeat)))
    print(f"instructions per line, streamed path, {args.size:,} lines, {args.repeat} decisions counted")
    for name, value in rows:
        print(f"  {name:<14} {value:>10,.0f}")
    print(f"  ratio          {rows[1][1] / rows[0][1]:>10.2f}  (working tree / baseline; below 1.0: less work)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
