"""The results document of a run (JSON-ready, money as two-decimal strings) and its files.

Per variant: summary totals and counts, the change per department against the baseline, and the
lines whose status or amount changed with both explanations (baseline and variant, from the domain
path). Per sweep: every KPI (totals and counts) at every point. Files: ``results.json``, CSV tables
(``variants.csv``, ``departments.csv``, ``changed_lines.csv``, ``sweep-<name>.csv``) and
``report.html``. The document holds no timings or host names, so it is identical whatever executor
ran the work.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from service.domain.decision import allocation_explanations
from service.domain.evaluation import LineOutcome
from service.domain.money import money_text
from service.domain.records import BudgetRequest
from service.simulation.evaluate import RESERVES, STATUSES, TOTALS
from service.simulation.replay import ReplayContext, SimulationMismatch, differences, replay
from service.simulation.runner import Evaluated
from service.simulation.scenario import Scenario
from service.simulation.transforms import describe_transform

MONEY_KPIS = (*TOTALS, *RESERVES)


def money(fens: int) -> str:
    return money_text(Decimal(fens).scaleb(-2))


def _money_map(values: dict[str, int], keys: Sequence[str]) -> dict[str, str]:
    return {k: money(values[k]) for k in keys}


def _summary_json(s: dict[str, Any]) -> dict[str, Any]:
    return {"totals": _money_map(s["totals"], MONEY_KPIS), "counts": s["counts"]}


def _changes(e: Evaluated) -> dict[str, Any]:
    job = e.prepared.job
    envelope = e.prepared.columns.envelope
    return {
        "params": job.params,
        "disabled": list(job.disabled),
        "envelope_change": job.envelope.model_dump(mode="json", exclude_none=True) if job.envelope else None,
        "transforms": [describe_transform(t) for t in job.transforms],
        "envelope": None if envelope is None else money(envelope),
        "ruleset": e.prepared.ruleset.ref(),
    }


def _departments(base: Evaluated, variant: Evaluated) -> list[dict[str, Any]]:
    before = {d["department_id"]: d for d in base.summary["departments"]}
    out = []
    for d in variant.summary["departments"]:
        b = before[d["department_id"]]
        keys = ("requested", "after_policies", "recommended", "cut", "reclaimed", "allocated_from_pool")
        out.append(
            {
                "department_id": d["department_id"],
                "name": d["name"],
                "baseline": {"totals": _money_map(b["totals"], keys), "counts": b["counts"]},
                "variant": {"totals": _money_map(d["totals"], keys), "counts": d["counts"]},
                "change": {k: money(d["totals"][k] - b["totals"][k]) for k in keys},
            }
        )
    return out


def _line_side(e: Evaluated, i: int, outcome: LineOutcome) -> dict[str, Any]:
    r = e.results
    assert r is not None
    tier = int(r.fold.tier[i])
    return {
        "status": STATUSES[int(r.status[i])],
        "tier": None if tier < 0 else tier,
        "flags": r.fold.flag_list(i),
        "after_policies": money(int(r.after_policies[i])),
        "recommended": money(int(r.recommended[i])),
        "allocated_from_pool": money(int(r.from_pool[i])),
        "reclaimed": money(int(r.fold.reclaimed[i])),
        "explanations": outcome.explanations,
    }


def _explained(e: Evaluated, request: BudgetRequest, lines: list[int], engine: str) -> dict[int, LineOutcome]:
    """Domain outcomes of ``lines`` with explanations, checked against the vectorized results."""
    p = e.prepared
    assert e.results is not None
    outcomes = replay(ReplayContext(request, p.columns, p.job.transforms, p.ruleset, p.memberships), lines, engine)
    for i, o in outcomes.items():
        diff = differences(o, e.results.fold, i)
        if diff:
            raise SimulationMismatch(f"{p.job.key}: line {o.project.project_id} differs: " + "; ".join(diff))
    if p.columns.envelope is not None:
        chosen = sorted(outcomes)
        recommended = e.results.recommended
        pool = e.results.from_pool
        for i in chosen:
            o = outcomes[i]
            if o.status is None:
                env = Decimal(int(recommended[i] - pool[i])).scaleb(-2)
                o.explanations += allocation_explanations(o.tier, o.amount, env, Decimal(int(pool[i])).scaleb(-2))
    return outcomes


def _changed_lines(
    scenario: Scenario, request: BudgetRequest, base: Evaluated, variant: Evaluated
) -> tuple[int, list[dict[str, Any]]]:
    b, v = base.results, variant.results
    assert b is not None and v is not None
    changed = (
        (b.status != v.status)
        | (b.recommended != v.recommended)
        | (b.after_policies != v.after_policies)
        | (b.fold.reclaimed != v.fold.reclaimed)
        | (b.from_pool != v.from_pool)
    )
    index = np.flatnonzero(changed)
    delta = np.abs(v.recommended[index] - b.recommended[index])
    order = index[np.lexsort((index, -delta))][: scenario.changed_lines]
    lines = [int(i) for i in order]
    engine = scenario.verify.engine
    before = _explained(base, request, lines, engine)
    after = _explained(variant, request, lines, engine)
    out = []
    for i in lines:
        project = request.projects[i]
        out.append(
            {
                "project_id": project.project_id,
                "department_id": project.department_id,
                "name": project.name,
                "kind": project.kind.value,
                "requested": money_text(project.requested),
                "baseline": _line_side(base, i, before[i]),
                "variant": _line_side(variant, i, after[i]),
            }
        )
    return int(index.size), out


def build_document(scenario: Scenario, request: BudgetRequest, evaluated: Sequence[Evaluated]) -> dict[str, Any]:
    """The results document (deterministic: the same whatever executor produced ``evaluated``)."""
    base = evaluated[0]
    variants = []
    for e in evaluated:
        if e.prepared.job.kind != "variant":
            continue
        count, lines = _changed_lines(scenario, request, base, e)
        spec = next(v for v in scenario.variants if v.name == e.prepared.job.name)
        variants.append(
            {
                "name": spec.name,
                "description": spec.description,
                "changes": _changes(e),
                "summary": _summary_json(e.summary),
                "change": {k: money(e.summary["totals"][k] - base.summary["totals"][k]) for k in MONEY_KPIS},
                "departments": _departments(base, e),
                "changed_lines_count": count,
                "changed_lines": lines,
            }
        )
    sweeps = []
    for sweep in scenario.sweeps:
        points = [e for e in evaluated if e.prepared.job.kind == "sweep" and e.prepared.job.name == sweep.name]
        sweeps.append(
            {
                "name": sweep.name,
                "description": sweep.description,
                "on": sweep.on,
                "axes": [
                    {"parameter": a.parameter, "values": [p.prepared.job.point[a.parameter] for p in points]}
                    for a in sweep.axes
                ],
                "points": [
                    {
                        "values": p.prepared.job.point,
                        "envelope": None if p.prepared.columns.envelope is None else money(p.prepared.columns.envelope),
                        **_summary_json(p.summary),
                    }
                    for p in points
                ],
            }
        )
    return {
        "status": "succeeded",
        "scenario": {
            "id": scenario.id,
            "title": scenario.title.model_dump(),
            "dataset": scenario.dataset.model_dump(mode="json", exclude_none=True),
            "lines": len(request.projects),
            "departments": len(request.departments),
            "fiscal_year": request.fiscal_year,
        },
        "verification": {
            "engine": scenario.verify.engine,
            "sample_per_evaluation": scenario.verify.sample,
            "evaluations": len(evaluated),
            "lines_checked": sum(e.verified for e in evaluated),
            "mismatches": 0,
        },
        "baseline": {"changes": _changes(base), "summary": _summary_json(base.summary)},
        "variants": variants,
        "sweeps": sweeps,
    }


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _kpi_row(summary: dict[str, Any]) -> list[Any]:
    return [summary["totals"][k] for k in MONEY_KPIS] + [summary["counts"][s] for s in STATUSES]


def write_outputs(folder: Path, document: dict[str, Any]) -> list[Path]:
    """Write results.json, the CSV tables and report.html into ``folder``."""
    from service.simulation.report import render_report

    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "results.json"]
    written[0].write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    kpis = [*MONEY_KPIS, *STATUSES]
    rows = [["baseline", *_kpi_row(document["baseline"]["summary"])]]
    rows += [[v["name"], *_kpi_row(v["summary"])] for v in document["variants"]]
    _write_csv(folder / "variants.csv", ["variant", *kpis], rows)
    dept_rows = [
        [
            v["name"],
            d["department_id"],
            d["name"],
            d["baseline"]["totals"]["recommended"],
            d["variant"]["totals"]["recommended"],
            d["change"]["recommended"],
            d["change"]["after_policies"],
        ]
        for v in document["variants"]
        for d in v["departments"]
    ]
    _write_csv(
        folder / "departments.csv",
        [
            "variant",
            "department_id",
            "name",
            "baseline_recommended",
            "variant_recommended",
            "change_recommended",
            "change_after_policies",
        ],
        dept_rows,
    )
    line_rows = [
        [
            v["name"],
            ln["project_id"],
            ln["department_id"],
            ln["baseline"]["status"],
            ln["variant"]["status"],
            ln["baseline"]["after_policies"],
            ln["variant"]["after_policies"],
            ln["baseline"]["recommended"],
            ln["variant"]["recommended"],
        ]
        for v in document["variants"]
        for ln in v["changed_lines"]
    ]
    _write_csv(
        folder / "changed_lines.csv",
        [
            "variant",
            "project_id",
            "department_id",
            "baseline_status",
            "variant_status",
            "baseline_after_policies",
            "variant_after_policies",
            "baseline_recommended",
            "variant_recommended",
        ],
        line_rows,
    )
    written += [folder / "variants.csv", folder / "departments.csv", folder / "changed_lines.csv"]
    for sweep in document["sweeps"]:
        axes = [a["parameter"] for a in sweep["axes"]]
        path = folder / f"sweep-{sweep['name']}.csv"
        _write_csv(path, [*axes, *kpis], [[p["values"][a] for a in axes] + _kpi_row(p) for p in sweep["points"]])
        written.append(path)
    report = folder / "report.html"
    report.write_text(render_report(document), encoding="utf-8")
    written.append(report)
    (folder / "run.json").write_text(json.dumps({"status": "succeeded"}) + "\n", encoding="utf-8")
    return written


def write_failure(folder: Path, scenario: Scenario, error: Exception) -> None:
    """Mark the run failed: ``run.json`` says why; no results are written."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(
        json.dumps({"status": "failed", "scenario": scenario.id, "error": str(error)}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
