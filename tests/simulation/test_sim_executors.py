"""The same results whatever runs the work: in process, a local process pool, or a Dask cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.simulation import runner
from service.simulation.runner import run_scenario

SCENARIO: dict[str, Any] = {
    "id": "executors",
    "title": {"zh": "执行器一致性", "en": "Executor equivalence"},
    "dataset": {"generate": {"projects": 3000, "seed": 7}},
    "ruleset": "wuding-county",
    "verify": {"sample": 50},
    "changed_lines": 20,
    "variants": [
        {"name": "strict", "params": {"target-review-gate": {"min_score": 70}}, "envelope": {"percent": -3}},
        {"name": "scores-down", "transforms": [{"shift_score": "evaluation_score", "by": -5}]},
    ],
    "sweeps": [
        {"name": "gate", "axes": [{"parameter": "target-review-gate.min_score", "from": 60, "to": 70, "step": 2}]},
        {
            "name": "grid",
            "axes": [
                {"parameter": "cut-inefficient.cut_rate", "values": [0.1, 0.2]},
                {"parameter": "envelope.percent", "values": [-5, 5]},
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "executors.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def serial(scenario: Path) -> str:
    return json.dumps(run_scenario(scenario, executor="serial"), sort_keys=True)


@pytest.fixture
def small_partitions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make 3,000 lines worth partitioning, so partitions are exercised too."""
    monkeypatch.setattr(runner, "MIN_PARTITION_LINES", 500)
    yield


def test_process_pool_equals_serial(scenario: Path, serial: str) -> None:
    assert json.dumps(run_scenario(scenario, executor="process", workers=2), sort_keys=True) == serial


def test_partitioned_process_pool_equals_serial(tmp_path: Path, small_partitions: None) -> None:
    path = tmp_path / "executors.yaml"
    path.write_text(yaml.safe_dump(dict(SCENARIO, sweeps=[]), allow_unicode=True), encoding="utf-8")
    slices, _ = runner.plan_tasks(3000, 3, 4)
    assert len(slices) == 2
    partitioned = run_scenario(path, executor="process", workers=2)
    whole = run_scenario(path, executor="serial")
    assert json.dumps(partitioned, sort_keys=True) == json.dumps(whole, sort_keys=True)


def test_dask_cluster_equals_serial(scenario: Path, serial: str) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        got = run_scenario(scenario, scheduler=cluster.scheduler_address)
    assert json.dumps(got, sort_keys=True) == serial
