"""Our command line against a zen-engine script on the same request files (issue 16).

Both sides are whole commands, started fresh for every run, on the same generated request files of
1,000, 10,000 and 100,000 lines (the demo generator, seed 2021, as ``bench/core_throughput.py``):

- ours: ``budget-rules recommend FILE --format json --output OUT`` (validation, policies through
  durable-rules, bilingual explanations, overlap review, idle reclaim, allocation, the JSON document);
- the peer: ``python -m bench.zen_peer GRAPH FILE OUT``, GoRules zen-engine's Python binding over the
  JDM graph of ../shared/peers/zen/ (policies 1–8 per line only, see that folder's README).

Start-up (interpreter, imports, compiling the ruleset or the graph) is the same whatever the size, so
throughput is taken by difference: ``(N - 1,000) / (t_N - t_1,000)`` lines per second, from the medians
of interleaved runs (ours, peer, ours, peer, ... so machine noise hits both). The ratio is ours / peer:
1.0 or more means we are at least as fast. The load average is printed at the start and the end,
because the machine's cores are shared.

Ours decides a request of more than 1,000 lines on one process per core, its own and forked worker processes
(``--workers`` of the command; ``--workers 1`` here passes it on, to compare with one process). ``--memory`` runs each
command once more on the largest file and prints its peak memory: the largest sum of the resident sets of
the command and its worker processes (proportional set sizes: pages shared after the fork counted once),
sampled every 20 ms with psutil (a worker's own peak alone would hide the others').

Usage::

    python -m bench.peers [--sizes 1000,10000,100000] [--repeat 3] [--workers N] [--memory]
                          [--graph ../shared/peers/zen/budget_lines.jdm.json]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
GRAPH = REPO_ROOT.parent / "shared" / "peers" / "zen" / "budget_lines.jdm.json"
DATA_DIR = Path(tempfile.gettempdir()) / "budget-rules-bench"
SEED = 2021


def request_files(sizes: Sequence[int], seed: int = SEED) -> dict[int, Path]:
    """The generated request file of each size, written once and then reused (they are deterministic)."""
    from bench.core_throughput import make_raw
    from service.demo import dumps_request

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    generator = hashlib.sha256((REPO_ROOT / "service" / "demo.py").read_bytes()).hexdigest()[:8]
    files = {}
    for size in sizes:
        path = DATA_DIR / f"request-{size}-seed{seed}-{generator}.json"  # a changed generator writes new files
        if not path.exists():
            part = path.with_suffix(".part")
            part.write_text(dumps_request(make_raw(size, seed)), encoding="utf-8")
            part.replace(path)
        files[size] = path
    return files


def ours(request: Path, output: Path, workers: int | None = None) -> list[str]:
    command = Path(sys.executable).with_name("budget-rules")
    more = [] if workers is None else ["--workers", str(workers)]
    return [str(command), "recommend", str(request), "--format", "json", "--output", str(output), *more]


def peer(request: Path, output: Path, graph: Path) -> list[str]:
    return [sys.executable, "-m", "bench.zen_peer", str(graph), str(request), str(output)]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr}")
    return seconds


def peak_memory(command: list[str]) -> int:
    """The largest sum of the proportional set sizes (PSS) of ``command`` and its descendants, in bytes, sampled
    every 20 ms: a page that forked workers share with their parent is counted once, not in each resident set."""
    import contextlib

    import psutil  # type: ignore[import-untyped,unused-ignore]

    process = psutil.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        total = 0
        for member in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # ended between the listing and the reading
                total += member.memory_full_info().pss
        peak = max(peak, total)
        time.sleep(0.02)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode})")
    return peak


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} CPUs"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="request sizes in lines; the first is the base")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command at each size")
    parser.add_argument("--graph", type=Path, default=GRAPH)
    parser.add_argument("--workers", type=int, default=None, help="our --workers (default: the command's own)")
    parser.add_argument("--memory", action="store_true", help="then the peak memory of each at the largest size")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    try:
        import zen  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        print("zen-engine is not installed: pip install -e .[bench]", file=sys.stderr)
        return 2
    from importlib.metadata import version

    print(f"Python {platform.python_version()}, zen-engine {version('zen-engine')}, durable-rules 2.0.28")
    print(f"command: python -m bench.peers {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(f"load average at start: {load()}")
    files = request_files(sizes)
    runs: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        out = Path(tmp)
        for _ in range(args.repeat):
            for size in sizes:
                for name, command in (
                    ("ours", ours(files[size], out / "ours.json", args.workers)),
                    ("zen", peer(files[size], out / "zen.json", args.graph)),
                ):
                    runs.setdefault((name, size), []).append(timed(command))
            print(f"... round {_ + 1} of {args.repeat} done", file=sys.stderr, flush=True)
    median = {key: statistics.median(values) for key, values in runs.items()}
    base = sizes[0]
    print(f"\n{'lines':>8} {'ours s':>8} {'zen s':>8}  {'ours lines/s':>12} {'zen lines/s':>12} {'ratio':>6}")
    for size in sizes:
        row = f"{size:>8,} {median['ours', size]:>8.2f} {median['zen', size]:>8.2f}"
        if size == base:
            print(f"{row}  {'(base)':>12} {'(base)':>12}")
            continue
        ours_rate = (size - base) / (median["ours", size] - median["ours", base])
        zen_rate = (size - base) / (median["zen", size] - median["zen", base])
        print(f"{row}  {ours_rate:>12,.0f} {zen_rate:>12,.0f} {ours_rate / zen_rate:>6.2f}")
    print(f"seconds: medians of {args.repeat} whole-command runs; lines/s = (N - {base:,}) / (t_N - t_{base:,})")
    print("ratio = our lines/s / zen-engine's lines/s (1.0 or more: at least as fast)")
    if args.memory:
        with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
            largest = sizes[-1]
            mine = peak_memory(ours(files[largest], Path(tmp) / "ours.json", args.workers))
            theirs = peak_memory(peer(files[largest], Path(tmp) / "zen.json", args.graph))
        mib = 1024 * 1024
        print(
            f"peak memory at {largest:,} lines (PSS of the command and its workers): ours {mine / mib:,.0f} MiB, "
            f"zen {theirs / mib:,.0f} MiB"
        )
    print(f"load average at the end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
