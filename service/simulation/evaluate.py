"""The vectorized decision: fold, envelope and pool, per-line results and summary totals (in fens).

This is the simulator's counterpart of ``service.domain.decision.evaluate`` + ``result_document``:
same numbers, to the fen, without explanations (see ``replay`` for those).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from service.domain.ruleset import CompiledRuleset
from service.simulation.allocation import allocate
from service.simulation.columns import Bools, Columns, Ints
from service.simulation.fenmath import exact_sum, group_sums
from service.simulation.fold import LIVE, FoldState, run_fold

STATUSES = ("excluded", "cancelled", "reduced", "funded")
TOTALS = ("requested", "after_policies", "recommended", "cut", "reclaimed", "allocated_from_pool")
RESERVES = ("reserve_envelope", "reserve_pool", "reserve")


@dataclass(slots=True)
class LineResults:
    """Per-line results of one evaluation; ``status`` indexes ``STATUSES``."""

    fold: FoldState
    recommended: Ints
    from_pool: Ints
    status: npt.NDArray[np.int8]
    reserve_envelope: int
    reserve_pool: int

    @property
    def after_policies(self) -> Ints:
        return self.fold.amount


def decide(ruleset: CompiledRuleset, columns: Columns, groups: Mapping[str, Bools]) -> LineResults:
    """Fold then allocate; ``groups`` are the cross-line rules' flagged lines of the whole dataset."""
    fold = run_fold(ruleset, columns, groups)
    return finish(fold, columns)


def finish(fold: FoldState, columns: Columns) -> LineResults:
    """Allocation within the envelope and final status, from the fold of every line."""
    candidate = (fold.status == LIVE) & (fold.amount > 0)
    pool = exact_sum(fold.reclaimed)
    urgent = columns.column("urgent")
    assert urgent.vocab is not None
    is_urgent = np.array([bool(v) for v in urgent.vocab] + [False], dtype=np.bool_)[urgent.values]
    env, from_pool, env_left, pool_left = allocate(
        columns.envelope, candidate, fold.tier.astype(np.int64), fold.amount, is_urgent, pool, columns.id_rank
    )
    recommended = (env if columns.envelope is not None else fold.amount) + from_pool
    requested = columns.column("requested").values
    status = np.where(recommended < requested, 2, 3).astype(np.int8)
    status[fold.status == 1] = 0
    status[fold.status == 2] = 1
    return LineResults(fold, recommended, from_pool, status, env_left, pool_left)


def _totals(columns: Columns, results: LineResults) -> dict[str, int]:
    requested = exact_sum(columns.column("requested").values)
    after = exact_sum(results.after_policies)
    return {
        "requested": requested,
        "after_policies": after,
        "recommended": exact_sum(results.recommended),
        "cut": requested - after,
        "reclaimed": exact_sum(results.fold.reclaimed),
        "allocated_from_pool": exact_sum(results.from_pool),
    }


def summary(columns: Columns, results: LineResults) -> dict[str, Any]:
    """Totals (fens), reserves, counts by status, and per department totals and counts."""
    totals = _totals(columns, results)
    totals["reserve_envelope"] = results.reserve_envelope
    totals["reserve_pool"] = results.reserve_pool
    totals["reserve"] = results.reserve_envelope + results.reserve_pool
    counts = np.bincount(results.status, minlength=4)
    n_dept = len(columns.department_ids)
    dept = columns.department_index
    per_field = {
        "requested": group_sums(columns.column("requested").values, dept, n_dept),
        "after_policies": group_sums(results.after_policies, dept, n_dept),
        "recommended": group_sums(results.recommended, dept, n_dept),
        "reclaimed": group_sums(results.fold.reclaimed, dept, n_dept),
        "allocated_from_pool": group_sums(results.from_pool, dept, n_dept),
    }
    dept_counts = np.zeros((n_dept, 4), dtype=np.int64)
    np.add.at(dept_counts, (dept, results.status.astype(np.intp)), 1)
    lines_per_dept = np.bincount(dept, minlength=n_dept)
    departments = []
    for d in range(n_dept):
        if not lines_per_dept[d]:
            continue
        d_totals = {k: per_field[k][d] for k in ("requested", "after_policies", "recommended")}
        d_totals["cut"] = d_totals["requested"] - d_totals["after_policies"]
        d_totals["reclaimed"] = per_field["reclaimed"][d]
        d_totals["allocated_from_pool"] = per_field["allocated_from_pool"][d]
        departments.append(
            {
                "department_id": columns.department_ids[d],
                "name": columns.department_names[d],
                "totals": d_totals,
                "counts": {s: int(dept_counts[d, k]) for k, s in enumerate(STATUSES)},
            }
        )
    return {
        "totals": totals,
        "counts": {s: int(counts[k]) for k, s in enumerate(STATUSES)},
        "departments": departments,
    }
