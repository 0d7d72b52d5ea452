"""The facts a policy condition can test, one flat mapping per project line.

A line's facts are its own fields, its department's (``department.*``), the request's fiscal year, and
``idle_years`` (fiscal_year − idle_since_year, the age of a carried-over balance, 结转年限). A missing
optional field is absent from the mapping, never ``None``: conditions test absence with ``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from service.domain.records import BudgetRequest, Department, Project


class FieldType(StrEnum):
    money = "money"
    score = "score"
    integer = "integer"
    text = "text"
    boolean = "boolean"


PROJECT_LINES = "project_lines"
DEPARTMENT_DISCLOSURE = "department_disclosure"
SUBJECTS = (PROJECT_LINES, DEPARTMENT_DISCLOSURE)


@dataclass(frozen=True, slots=True)
class FactField:
    name: str
    type: FieldType
    engine_name: str  # the name sent to durable-rules: no dots, never `id` or `sid`
    description: str
    subjects: frozenset[str] = frozenset({PROJECT_LINES})


FIELDS: dict[str, FactField] = {
    f.name: f
    for f in (
        FactField("project_id", FieldType.text, "pid", "project line id"),
        FactField("department_id", FieldType.text, "dep", "department id", frozenset(SUBJECTS)),
        FactField("kind", FieldType.text, "kind", "project, public_operating or three_public"),
        FactField("requested", FieldType.money, "requested", "申报数"),
        FactField("prior_year_budget", FieldType.money, "prior", "last year's approved amount"),
        FactField("target_review_score", FieldType.score, "trs", "绩效目标评审得分"),
        FactField("evaluation_score", FieldType.score, "evs", "绩效评价得分"),
        FactField("idle_balance", FieldType.money, "idle", "结转资金余额"),
        FactField("idle_since_year", FieldType.integer, "idle_since", "year the idle balance was appropriated"),
        FactField("idle_years", FieldType.integer, "idle_years", "fiscal_year - idle_since_year"),
        FactField("purpose_code", FieldType.text, "purpose", "functional purpose code"),
        FactField("beneficiary", FieldType.text, "benef", "who the spending serves"),
        FactField("urgent", FieldType.boolean, "urgent", "serves an area in urgent need"),
        FactField("protection", FieldType.text, "prot", "protected spending: none, basic_livelihood, wages, …"),
        FactField("fiscal_year", FieldType.integer, "fy", "the fiscal year being compiled", frozenset(SUBJECTS)),
        FactField("department.kind", FieldType.text, "dep_kind", "department or township", frozenset(SUBJECTS)),
        FactField("department.overall_score", FieldType.score, "dep_score", "部门整体绩效评价得分"),
        # Department disclosure records (绩效信息公开): dates as ISO text, and the day counts derived from them.
        *(
            FactField(name, kind, engine, text, frozenset({DEPARTMENT_DISCLOSURE}))
            for name, kind, engine, text in (
                ("budget_approved_on", FieldType.text, "approved", "预算批复日期"),
                ("targets_disclosed_on", FieldType.text, "targets_on", "绩效目标公开日期"),
                ("report_formed_on", FieldType.text, "report_formed", "自评报告形成日期"),
                ("report_disclosed_on", FieldType.text, "report_on", "自评报告公开日期"),
                ("targets_disclosure_days", FieldType.integer, "targets_days", "days from approval to disclosure"),
                ("report_disclosure_days", FieldType.integer, "report_days", "days from report to disclosure"),
            )
        ),
    )
}


def subject_fields(subject: str) -> dict[str, FactField]:
    """The facts that conditions of a ruleset about ``subject`` records may test."""
    return {name: f for name, f in FIELDS.items() if subject in f.subjects}


LineFacts = dict[str, Any]


def line_facts(project: Project, department: Department, fiscal_year: int) -> LineFacts:
    """The facts of one line, keyed by field name; absent optional fields are left out."""
    facts: LineFacts = {
        "project_id": project.project_id,
        "department_id": project.department_id,
        "kind": str(project.kind),  # str(): the value of a StrEnum, without the slower .value descriptor
        "requested": project.requested,
        "idle_balance": project.idle_balance,
        "urgent": project.urgent,
        "protection": str(project.protection),
        "fiscal_year": fiscal_year,
        "department.kind": str(department.kind),
    }
    optional: tuple[tuple[str, Any], ...] = (
        ("prior_year_budget", project.prior_year_budget),
        ("target_review_score", project.target_review_score),
        ("evaluation_score", project.evaluation_score),
        ("idle_since_year", project.idle_since_year),
        ("purpose_code", project.purpose_code),
        ("beneficiary", project.beneficiary),
        ("department.overall_score", department.overall_score),
    )
    for name, value in optional:
        if value is not None:
            facts[name] = value
    if project.idle_since_year is not None:
        facts["idle_years"] = fiscal_year - project.idle_since_year
    return facts


def request_facts(request: BudgetRequest) -> list[LineFacts]:
    departments = request.department_map()
    return [line_facts(p, departments[p.department_id], request.fiscal_year) for p in request.projects]


def coerce_literal(field: FactField, value: Any) -> Any:
    """Turn a literal from a policy file into the field's domain type, or raise ValueError."""
    if field.type in (FieldType.money, FieldType.score):
        if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
            raise ValueError(f"{field.name} compares with a number, got {value!r}")
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
        except ArithmeticError:
            raise ValueError(f"{field.name} compares with a number, got {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"{field.name} cannot compare with {value!r}")
        places = 2 if field.type is FieldType.money else 6
        if number != number.quantize(Decimal(1).scaleb(-places)):
            raise ValueError(f"{field.name} compares with at most {places} decimals, got {value!r}")
        return number
    if field.type is FieldType.integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{field.name} compares with a whole number, got {value!r}")
        return value
    if field.type is FieldType.boolean:
        if not isinstance(value, bool):
            raise ValueError(f"{field.name} compares with true or false, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{field.name} compares with text, got {value!r}")
    return value
