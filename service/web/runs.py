"""How the list of recommendation runs (测算) reads to a person: by the file it came from, when, who, and its
totals, never by a hash; and a department filter that takes the department's name.

Reads only: the stored datasets (their source file and department names) and each run's own result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from service.app.state import AppState
from service.storage.models import DatasetRow, DecisionRow

DEPARTMENT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,19}$")
NAME_SCAN_DATASETS = 200  # department names are looked up in this many most recent datasets


@dataclass(frozen=True)
class RunSummary:
    source: str
    departments: int
    projects: int
    requested: Decimal | None
    recommended: Decimal | None


def describe(state: AppState, rows: list[DecisionRow]) -> dict[str, RunSummary]:
    """For each run: the file (or "uploaded data"), its size and money totals, from its own result."""
    dataset_ids = {r.dataset_id for r in rows if r.dataset_id}
    sources: dict[str, str] = {}
    if dataset_ids:
        with state.db.transaction() as session:
            found = session.exec(select(DatasetRow.id, DatasetRow.source).where(col(DatasetRow.id).in_(dataset_ids)))
            sources = {dataset_id: source for dataset_id, source in found.all()}
    out = {}
    for row in rows:
        try:
            result = json.loads(row.result_json)
        except ValueError:
            result = {}
        summary = result.get("summary") or {}
        totals = summary.get("totals") or {}
        out[row.id] = RunSummary(
            source=sources.get(row.dataset_id or "", ""),
            departments=len(summary.get("departments") or []),
            projects=len(result.get("lines") or []),
            requested=_money(totals.get("requested")),
            recommended=_money(totals.get("recommended")),
        )
    return out


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except ArithmeticError:
        return None


def department_names(state: AppState) -> dict[str, str]:
    """Department id → name, from the most recent stored datasets (the newest name wins)."""
    with state.db.transaction() as session:
        statement = select(DatasetRow.data_json).order_by(col(DatasetRow.created_at).desc()).limit(NAME_SCAN_DATASETS)
        documents = session.exec(statement).all()
    names: dict[str, str] = {}
    for text in documents:
        try:
            data = json.loads(text)
        except ValueError:
            continue
        for department in data.get("departments") or []:
            if isinstance(department, dict) and department.get("department_id") and department.get("name"):
                names.setdefault(str(department["department_id"]), str(department["name"]))
    return names


def resolve_department(state: AppState, text: str) -> tuple[str | None, list[str]]:
    """The department id a filter means: an id as given, else the department whose name matches.

    Returns (id, []) when one department fits, (None, candidate names) when several do, and
    (text, []) when nothing is known by that name (the filter then finds nothing rather than everything).
    """
    text = text.strip()
    if not text:
        return None, []
    names = department_names(state)
    if text in names or (DEPARTMENT_ID.match(text) and not any(text in n for n in names.values())):
        return text, []
    exact = [d for d, n in names.items() if n == text]
    if len(exact) == 1:
        return exact[0], []
    partial = sorted({n for n in names.values() if text in n})
    if len(partial) == 1:
        return next(d for d, n in names.items() if n == partial[0]), []
    if partial:
        return None, partial[:20]
    return text, []
