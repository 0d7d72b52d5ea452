"""The streamed decision on worker processes (service/batchpool.py): the same bytes as in one process, and
every problem still reported by the one-process path."""

from __future__ import annotations

import copy
import io
import json
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.batch import POOLED_FROM, _runs, recommend_stream
from service.batchpool import CHUNK, DecideSerially, LinePool, WorkerStopped
from service.cli import app
from service.demo import dumps_request
from service.demo import generate_request as demo_request
from service.domain.errors import EngineFailure
from service.engine.durable import DurableRulesMatcher
from service.engine.plain import PlainMatcher
from service.policyfiles import Catalog

RULESET = Catalog.load().compile("wuding-county")


def as_read(raw: dict[str, Any]) -> tuple[dict[str, Any], Iterator[Any]]:
    """A copy of ``raw`` as the CLI reads a .json file: the header, and the lines one at a time."""
    own = copy.deepcopy(raw)
    items = iter(own.pop("projects"))
    own["projects"] = []
    return own, items


def decided(raw: dict[str, Any], workers: int, engine: str = "durable-rules") -> str:
    """The document of ``raw`` with its lines given one at a time."""
    own, items = as_read(raw)
    matcher = DurableRulesMatcher(RULESET) if engine == "durable-rules" else PlainMatcher(RULESET)
    out = io.StringIO()
    done: list[int] = []
    recommend_stream(
        own,
        RULESET,
        matcher,
        out,
        decision_id="same",
        projects=items,
        workers=workers,
        progress=lambda n, _: done.append(n),
    )
    # the workers report each of their chunks; one process reports every 2,000 lines
    assert (CHUNK in done) == (workers > 1), done[:3]
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "seed", "envelope"), [(POOLED_FROM, 3, True), (CHUNK * 4 + 321, 7, True), (5000, 11, False)]
)
def test_workers_write_the_very_bytes_of_one_process(size: int, seed: int, envelope: bool) -> None:
    raw = demo_request(size, seed=seed)
    if not envelope:
        raw.pop("envelope", None)
    one = decided(raw, 1)
    assert decided(raw, 2) == one
    assert decided(raw, 3) == one
    lines = json.loads(one)["lines"]
    assert len(lines) == len(raw["projects"]) > size
    assert any(e["policy"] == "overlap-review" for line in lines for e in line["explanations"])  # cross-line rules ran


def test_the_plain_engine_on_workers_too() -> None:
    raw = demo_request(POOLED_FROM + 500, seed=4)
    assert decided(raw, 2, "plain") == decided(raw, 1, "plain") == decided(raw, 1)


@pytest.mark.parametrize("where", [10, CHUNK + 5, POOLED_FROM + 200])
def test_a_line_with_a_problem_stops_the_workers_before_anything_is_written(where: int) -> None:
    raw = demo_request(POOLED_FROM + 400, seed=2)
    raw["projects"][where]["requested"] = "-1"
    own, items = as_read(raw)
    out = io.StringIO()
    with pytest.raises(DecideSerially):
        recommend_stream(own, RULESET, DurableRulesMatcher(RULESET), out, projects=items, workers=2)
    assert out.getvalue() == ""


def test_a_project_id_repeated_in_another_chunk_stops_the_workers() -> None:
    raw = demo_request(POOLED_FROM + 400, seed=2)
    raw["projects"][POOLED_FROM + 100]["project_id"] = raw["projects"][3]["project_id"]
    own, items = as_read(raw)
    out = io.StringIO()
    with pytest.raises(DecideSerially):
        recommend_stream(own, RULESET, DurableRulesMatcher(RULESET), out, projects=items, workers=2)
    assert out.getvalue() == ""


def test_the_workers_spools_are_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    decided(demo_request(POOLED_FROM + 10, seed=1), 2)
    assert list(tmp_path.iterdir()) == []


def test_a_worker_that_dies_is_an_engine_failure_not_a_hang() -> None:
    raw = demo_request(POOLED_FROM + 10, seed=1)
    items = raw.pop("projects")
    raw["projects"] = []
    with LinePool(raw, RULESET, "durable-rules", 3) as pool:  # this process and two worker processes
        victim = pool._processes[1]
        os.kill(victim.pid, signal.SIGKILL)
        victim.join()
        with pytest.raises(WorkerStopped, match=f"worker process {victim.pid} stopped .*exit code -9"):
            list(pool.decide([(0, items[:CHUNK]), (CHUNK, items[CHUNK : 2 * CHUNK])]))
    assert isinstance(WorkerStopped("x"), EngineFailure)  # reported as the engine failing: exit status 1, HTTP 500


def test_workers_start_while_another_thread_holds_the_engine_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork copies a held lock as held: the worker must not wait for a thread it does not have. (This process
    decides lines too: it waits for the lock, which the other thread lets go a second after the forks.)"""
    import service.batchpool
    import service.engine.durable as durable

    monkeypatch.setattr(service.batchpool, "ANSWER_WITHIN", 30)  # a hung worker fails the test, not the run
    raw = demo_request(POOLED_FROM + 10, seed=6)
    one = decided(raw, 1)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with durable._ENGINE_LOCK:
            held.set()
            release.wait(1)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        own, items = as_read(raw)
        with LinePool(own, RULESET, "durable-rules", 3) as pool:  # forks while the lock is held
            decided_lines = list(pool.decide(_runs(items, CHUNK)))
            in_processes = {places[0][0] for _, _, places in decided_lines} - {pool._local.spool if pool._local else ""}
        assert sum(len(columns[0]) for columns, _, _ in decided_lines) == len(raw["projects"])  # project ids
        assert in_processes  # the worker processes decided some of the lines
    finally:
        release.set()
        holder.join()
    assert decided(raw, 2) == one


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_workers_give_the_same_file_and_the_same_errors(tmp_path: Path) -> None:
    raw = demo_request(POOLED_FROM + 300, seed=9)
    good = tmp_path / "good.json"
    good.write_text(dumps_request(raw), encoding="utf-8")
    outputs = {}
    for workers in ("1", "2"):
        target = tmp_path / f"out-{workers}.json"
        assert run("recommend", str(good), "--output", str(target), "--workers", workers) == (0, "")
        outputs[workers] = target.read_bytes()
    assert outputs["1"] == outputs["2"]
    default = tmp_path / "out-default.json"
    assert run("recommend", str(good), "--output", str(default))[0] == 0
    assert default.read_bytes() == outputs["1"]

    raw["projects"][POOLED_FROM + 50]["requested"] = "abc"
    raw["projects"][7]["project_id"] = raw["projects"][POOLED_FROM + 60]["project_id"]
    bad = tmp_path / "bad.json"
    bad.write_text(dumps_request(raw), encoding="utf-8")
    errors = {}
    for workers in ("1", "2"):
        target = tmp_path / f"bad-{workers}.json"
        code, output = run("recommend", str(bad), "--output", str(target), "--workers", workers)
        assert code == 2 and not target.exists()
        errors[workers] = output
    assert errors["1"] == errors["2"]
    assert f"projects.{POOLED_FROM + 50}.requested" in errors["2"] and "duplicate project_id" in errors["2"]
    assert sorted(os.listdir(tmp_path)) == ["bad.json", "good.json", "out-1.json", "out-2.json", "out-default.json"]


@pytest.mark.parametrize("order", ["projects first", "a key after the projects"])
def test_cli_workers_read_the_header_wherever_it_is(tmp_path: Path, order: str) -> None:
    raw = demo_request(POOLED_FROM + 200, seed=12)
    if order == "projects first":  # the reader finds the header after the lines, then reads the lines again
        raw = {"projects": raw.pop("projects"), **raw}
    else:  # read in one go until the key after the array: started again with the header known
        raw = {**raw, "envelope": raw.pop("envelope")}
    request = tmp_path / "request.json"
    request.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    outputs = []
    for workers in ("1", "2"):
        target = tmp_path / f"out-{workers}.json"
        assert run("recommend", str(request), "--output", str(target), "--workers", workers) == (0, "")
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(json.loads(outputs[1])["lines"]) == len(raw["projects"])


@pytest.mark.parametrize("workers", ["0", "-1", "65", "many"])
def test_cli_refuses_a_bad_number_of_workers(tmp_path: Path, workers: str) -> None:
    code, output = run("recommend", str(tmp_path / "any.json"), "--workers", workers)
    assert code == 2
    assert "--workers" in output or "workers" in output.lower()
