"""A request as columns (one numpy array per fact field), the input of the vectorized evaluator.

Every fact of ``service.domain.facts.FIELDS`` becomes a :class:`Column`: numbers as ``int64`` in
exact units (money in fens, scores in millionths — records allow at most 6 decimals — years as
years) with a presence mask, and text/booleans as category codes into a vocabulary (−1: missing).
Comparisons then run on integers only, with no floating point anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from service.domain.facts import PROJECT_LINES, FieldType, subject_fields
from service.domain.records import BudgetRequest

SCORE_SCALE = 1_000_000  # a score of 92.5 is stored as 92_500_000
MONEY_SCALE = 100  # 12.34 元 is stored as 1234 fens
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Column:
    """One fact field over all lines: integer values (or category codes) and where it is present."""

    values: Ints
    present: Bools
    scale: int = 1  # units per domain unit (fens per 元, millionths per score point); 0 for categories
    vocab: tuple[Any, ...] | None = None  # category values, for text and boolean fields

    @property
    def categorical(self) -> bool:
        return self.vocab is not None

    def take(self, index: npt.NDArray[np.intp] | slice) -> Column:
        return replace(self, values=self.values[index], present=self.present[index])


@dataclass(frozen=True, slots=True)
class Columns:
    """The lines of a request in columns, plus what allocation and summaries need."""

    fiscal_year: int
    envelope: int | None  # fens
    fields: dict[str, Column]
    department_index: npt.NDArray[np.intp]  # position of each line's department in ``department_ids``
    department_ids: tuple[str, ...]
    department_names: tuple[str, ...]
    id_rank: Ints  # rank of project_id in code-point order (allocation tie-break)
    project_ids: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        return int(self.department_index.shape[0])

    def column(self, name: str) -> Column:
        return self.fields[name]

    def take(self, index: slice) -> Columns:
        """The lines in a contiguous range (a partition)."""
        return replace(
            self,
            fields={k: c.take(index) for k, c in self.fields.items()},
            department_index=self.department_index[index],
            id_rank=self.id_rank[index],
            project_ids=self.project_ids[index],
        )

    def with_fields(self, changed: dict[str, Column]) -> Columns:
        return replace(self, fields={**self.fields, **changed})

    def with_envelope(self, envelope: int | None) -> Columns:
        return replace(self, envelope=envelope)


def _numeric(values: Sequence[Any], scale: int) -> Column:
    present = np.fromiter((v is not None for v in values), dtype=np.bool_, count=len(values))
    ints = np.fromiter(
        (0 if v is None else int(Decimal(v).scaleb(_digits(scale))) for v in values),
        dtype=np.int64,
        count=len(values),
    )
    return Column(ints, present, scale)


def _digits(scale: int) -> int:
    return len(str(scale)) - 1


def _categorical(values: Sequence[Any]) -> Column:
    vocab: dict[Any, int] = {}
    codes = np.fromiter(
        (-1 if v is None else vocab.setdefault(v, len(vocab)) for v in values), dtype=np.int64, count=len(values)
    )
    return Column(codes, codes >= 0, 0, tuple(vocab))


_SCALES = {FieldType.money: MONEY_SCALE, FieldType.score: SCORE_SCALE, FieldType.integer: 1}


def from_request(request: BudgetRequest) -> Columns:
    """Build the columns of a validated request (the same facts ``line_facts`` gives each line)."""
    departments = request.department_map()
    dept_order = {d.department_id: i for i, d in enumerate(request.departments)}
    projects = request.projects
    n = len(projects)
    raw: dict[str, list[Any]] = {
        "project_id": [p.project_id for p in projects],
        "department_id": [p.department_id for p in projects],
        "kind": [p.kind.value for p in projects],
        "requested": [p.requested for p in projects],
        "prior_year_budget": [p.prior_year_budget for p in projects],
        "target_review_score": [p.target_review_score for p in projects],
        "evaluation_score": [p.evaluation_score for p in projects],
        "idle_balance": [p.idle_balance for p in projects],
        "idle_since_year": [p.idle_since_year for p in projects],
        "idle_years": [
            None if p.idle_since_year is None else request.fiscal_year - p.idle_since_year for p in projects
        ],
        "purpose_code": [p.purpose_code for p in projects],
        "beneficiary": [p.beneficiary for p in projects],
        "urgent": [p.urgent for p in projects],
        "protection": [p.protection.value for p in projects],
        "fiscal_year": [request.fiscal_year] * n,
        "department.kind": [departments[p.department_id].kind.value for p in projects],
        "department.overall_score": [departments[p.department_id].overall_score for p in projects],
    }
    fields: dict[str, Column] = {}
    for name, spec in subject_fields(PROJECT_LINES).items():
        if name not in raw:
            raise NotImplementedError(f"the vectorized path does not know the fact {name!r} yet")
        values = raw[name]
        fields[name] = _numeric(values, _SCALES[spec.type]) if spec.type in _SCALES else _categorical(values)
    ids = raw["project_id"]
    order = sorted(range(n), key=ids.__getitem__)
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order, dtype=np.intp)] = np.arange(n, dtype=np.int64)
    return Columns(
        fiscal_year=request.fiscal_year,
        envelope=None if request.envelope is None else int(request.envelope.scaleb(2)),
        fields=fields,
        department_index=np.fromiter((dept_order[p.department_id] for p in projects), dtype=np.intp, count=n),
        department_ids=tuple(d.department_id for d in request.departments),
        department_names=tuple(d.name for d in request.departments),
        id_rank=rank,
        project_ids=tuple(ids),
    )
