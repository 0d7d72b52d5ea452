"""Scenario files: validation, the shipped scenarios, transforms, results documents and failure marking."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import yaml

from service.domain.errors import InvalidPolicy
from service.domain.records import parse_request
from service.policyfiles import default_root
from service.simulation import runner
from service.simulation.columns import from_request
from service.simulation.replay import SimulationMismatch
from service.simulation.runner import run_scenario
from service.simulation.scenario import EnvelopeChange, ScaleMoney, ShiftScore, load_scenario, schema_text
from service.simulation.transforms import resolve_envelope, transform_columns, transform_department, transform_project

ROOT = default_root()
SHIPPED = sorted((ROOT / "simulations").glob("*.yaml"))


def test_schema_file_is_generated_from_the_models() -> None:
    assert (ROOT / "schemas" / "scenario.schema.json").read_text(encoding="utf-8") == schema_text()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_are_valid(path: Path) -> None:
    load_scenario(path)
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), json.loads(schema_text()))


def test_the_three_required_sweeps_are_shipped() -> None:
    gate = load_scenario(ROOT / "simulations" / "gate-sweep.yaml").sweeps[0]
    assert [p[0] for p in gate.points()] == [Decimal(s) for s in range(50, 81)]
    envelope = load_scenario(ROOT / "simulations" / "envelope-sweep.yaml").sweeps[0]
    assert envelope.axes[0].parameter == "envelope.percent"
    assert [p[0] for p in envelope.points()][0::10] == [Decimal(-10), Decimal(0), Decimal(10)]
    grid = load_scenario(ROOT / "simulations" / "cut-and-reclaim.yaml").sweeps[0]
    assert [a.parameter for a in grid.axes] == ["cut-inefficient.cut_rate", "reclaim-idle.min_years"]
    assert len(grid.points()) == 20


def _write(tmp_path: Path, name: str, body: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"id": name, "title": {"zh": "测试", "en": "test"}, **body}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"dataset": {"generate": {"projects": 5}}, "ruleset": "wuding-county", "colour": 1}, "colour"),
        ({"dataset": {"path": "a.json", "generate": {"projects": 5}}, "ruleset": "wuding-county"}, "dataset"),
        ({"dataset": {"path": "../secret.json"}, "ruleset": "wuding-county"}, "dataset"),
        (
            {
                "dataset": {"generate": {"projects": 5}},
                "ruleset": "wuding-county",
                "sweeps": [{"name": "s", "axes": [{"parameter": "target-review-gate.min_score", "from": 1}]}],
            },
            "sweeps",
        ),
        (
            {
                "dataset": {"generate": {"projects": 5}},
                "ruleset": "wuding-county",
                "variants": [{"name": "v", "envelope": {"percent": 5, "delta": "1.00"}}],
            },
            "variants",
        ),
        (
            {
                "dataset": {"generate": {"projects": 5}},
                "ruleset": "wuding-county",
                "variants": [{"name": "v", "transforms": [{"shift_score": "requested", "by": 1}]}],
            },
            "variants",
        ),
    ],
)
def test_invalid_scenarios_are_refused_with_a_location(tmp_path: Path, body: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        load_scenario(_write(tmp_path, "bad", body))
    assert any(p.loc and p.loc[0] == where for p in caught.value.problems), caught.value.problems


def test_transforms_on_columns_equal_transforms_on_records(make_request: Callable[..., dict[str, Any]]) -> None:
    request = parse_request(make_request(5, 300))
    transforms = (
        ShiftScore(shift_score="evaluation_score", by=Decimal("-5")),
        ShiftScore(shift_score="department.overall_score", by=Decimal("7.5")),
        ShiftScore(shift_score="target_review_score", by=Decimal("-0.000001")),
        ScaleMoney(scale_money="idle_balance", factor=Decimal(2)),
        ScaleMoney(scale_money="requested", factor=Decimal("0.333333")),
    )
    by_columns = transform_columns(from_request(request), transforms)
    changed = request.model_copy(
        update={
            "projects": [transform_project(p, transforms) for p in request.projects],
            "departments": [transform_department(d, transforms) for d in request.departments],
        }
    )
    by_records = from_request(changed)
    for name, column in by_records.fields.items():
        assert np.array_equal(column.present, by_columns.fields[name].present), name
        assert np.array_equal(column.values[column.present], by_columns.fields[name].values[column.present]), name


def test_envelope_changes_round_half_up_and_never_go_below_zero() -> None:
    assert resolve_envelope(1001, EnvelopeChange(percent=Decimal(-5))) == 951  # 950.95 → 951
    assert resolve_envelope(1010, EnvelopeChange(percent=Decimal(-5))) == 960  # 959.5 → 960
    assert resolve_envelope(100, EnvelopeChange(delta=Decimal("-2.00"))) == 0
    assert resolve_envelope(None, EnvelopeChange(amount=Decimal("3.21"))) == 321
    assert resolve_envelope(100, None) == 100


def test_what_if_results(tmp_path: Path) -> None:
    doc = run_scenario(ROOT / "simulations" / "what-if.yaml", executor="serial", output=tmp_path)
    assert doc["status"] == "succeeded"
    assert doc["verification"]["lines_checked"] == 4 * 200
    base = doc["baseline"]["summary"]["totals"]
    for variant in doc["variants"]:
        totals = variant["summary"]["totals"]
        change = sum(Decimal(d["change"]["recommended"]) for d in variant["departments"])
        assert change == Decimal(totals["recommended"]) - Decimal(base["recommended"])
        assert variant["changed_lines_count"] >= len(variant["changed_lines"]) > 0
        for line in variant["changed_lines"]:
            assert line["baseline"]["explanations"] and line["variant"]["explanations"] is not None
    scores = next(v for v in doc["variants"] if v["name"] == "scores-minus-5")
    assert any(ln["variant"]["status"] == "cancelled" for ln in scores["changed_lines"])
    assert sum(Decimal(base[k]) for k in ("recommended", "reserve")) > 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"results.json", "variants.csv", "departments.csv", "changed_lines.csv", "report.html", "run.json"} <= names
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8")) == json.loads(json.dumps(doc))


def test_gate_sweep_curves() -> None:
    doc = run_scenario(ROOT / "simulations" / "gate-sweep.yaml", executor="serial")
    points = doc["sweeps"][0]["points"]
    assert len(points) == 31
    excluded = [p["counts"]["excluded"] for p in points]
    assert excluded == sorted(excluded) and excluded[0] < excluded[-1]
    at_65 = next(p for p in points if p["values"]["target-review-gate.min_score"] == "65")
    assert at_65["totals"] == doc["baseline"]["summary"]["totals"]


def test_a_difference_fails_the_run_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner.run_fold

    def off_by_one_fen(*args: Any) -> Any:
        state = real(*args)
        state.amount[state.amount > 0] += 1
        return state

    monkeypatch.setattr(runner, "run_fold", off_by_one_fen)
    with pytest.raises(SimulationMismatch, match="after_policies"):
        run_scenario(ROOT / "simulations" / "what-if.yaml", executor="serial", output=tmp_path)
    assert json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["status"] == "failed"
    assert not (tmp_path / "results.json").exists()
