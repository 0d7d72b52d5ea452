"""Department disclosure review (绩效信息公开): a ruleset about departments, not money.

The county report (part 三(三)) requires performance targets to be published within 20 days of the
budget approval, and self-evaluation reports within 20 days of being formed. A disclosure record
gives those dates for one department; the facts are the dates and the day counts between them, and
policies of subject ``department_disclosure`` flag late or missing disclosures with the days late.
The same engines, compiler, explanations and audit trail serve it as serve the budget rules.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.domain.decision import Matcher
from service.domain.errors import InvalidInput, Problem
from service.domain.evaluation import flag_of
from service.domain.explain import render, value_words
from service.domain.facts import FIELDS, LineFacts
from service.domain.records import DepartmentKind, field_problems, record_name
from service.domain.ruleset import CompiledPolicy, CompiledRule, CompiledRuleset


class DisclosureRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    department_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=500)]
    kind: DepartmentKind = DepartmentKind.department
    budget_approved_on: date  # 部门预算批复日期
    targets_disclosed_on: date | None = None  # 绩效目标公开日期
    report_formed_on: date | None = None  # 绩效自评报告形成日期
    report_disclosed_on: date | None = None  # 绩效自评报告公开日期


class DisclosureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fiscal_year: Annotated[int, Field(ge=2000, le=2100)]
    ruleset: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    departments: list[DisclosureRecord] = Field(min_length=1, max_length=100_000)


def parse_disclosure_request(raw: Any) -> DisclosureRequest:
    """Validate disclosure records; every problem is reported at once, naming the department and field."""
    if not isinstance(raw, Mapping):
        raise InvalidInput([Problem((), "the request must be a JSON object")])
    problems: list[Problem] = []
    records: list[tuple[int, DisclosureRecord]] = []
    items = raw.get("departments")
    if isinstance(items, list):
        for i, item in enumerate(items):
            try:
                records.append((i, DisclosureRecord.model_validate(item)))
            except ValidationError as error:
                nested = field_problems(error, raw)
                problems += [
                    Problem(("departments", i, *p.loc), p.message, record_name(raw, ("departments", i))) for p in nested
                ]
    try:
        request = DisclosureRequest.model_validate(raw)
    except ValidationError as error:
        problems += [p for p in field_problems(error, raw) if not (len(p.loc) > 2 and p.loc[0] == "departments")]
        request = None
    problems += _record_problems(records)
    if problems or request is None:
        raise InvalidInput(problems)
    return request


def _record_problems(records: list[tuple[int, DisclosureRecord]]) -> list[Problem]:
    problems: list[Problem] = []
    counts = Counter(d.department_id for _, d in records)
    for i, d in records:
        who = f"department_id {d.department_id}"
        if counts[d.department_id] > 1:
            problems.append(Problem(("departments", i, "department_id"), "duplicate department_id", who))
        if d.targets_disclosed_on and d.targets_disclosed_on < d.budget_approved_on:
            problems.append(Problem(("departments", i, "targets_disclosed_on"), "is before budget_approved_on", who))
        if d.report_disclosed_on and not d.report_formed_on:
            problems.append(
                Problem(("departments", i, "report_formed_on"), "is required when the report was disclosed", who)
            )
        if d.report_disclosed_on and d.report_formed_on and d.report_disclosed_on < d.report_formed_on:
            problems.append(Problem(("departments", i, "report_disclosed_on"), "is before report_formed_on", who))
    return problems


def disclosure_facts(record: DisclosureRecord, fiscal_year: int) -> LineFacts:
    facts: LineFacts = {
        "department_id": record.department_id,
        "department.kind": record.kind.value,
        "fiscal_year": fiscal_year,
        "budget_approved_on": record.budget_approved_on.isoformat(),
    }
    if record.targets_disclosed_on:
        facts["targets_disclosed_on"] = record.targets_disclosed_on.isoformat()
        facts["targets_disclosure_days"] = (record.targets_disclosed_on - record.budget_approved_on).days
    if record.report_formed_on:
        facts["report_formed_on"] = record.report_formed_on.isoformat()
    if record.report_disclosed_on and record.report_formed_on:
        facts["report_disclosed_on"] = record.report_disclosed_on.isoformat()
        facts["report_disclosure_days"] = (record.report_disclosed_on - record.report_formed_on).days
    return facts


def _explanation(
    record: DisclosureRecord,
    facts: LineFacts,
    policy: CompiledPolicy,
    rule: CompiledRule,
    flags: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    measures = {k: v for flag in flags for k, v in flag.items() if k != "code"}

    def lookup(name: str) -> str:
        if name in measures:
            return value_words(measures[name])
        if name in policy.params:
            return value_words(policy.params[name], policy.param_types.get(name))
        if name in ("name", "department.name"):
            return record.name
        spec = FIELDS.get(name)
        return value_words(facts.get(name), spec.type.value if spec else None)

    return {
        "policy": policy.id,
        "rule": rule.rule_id,
        "outcome": "applied",
        "action": "flag",
        "effect": "0.00",
        "reason": {"zh": render(rule.explain[0], lookup), "en": render(rule.explain[1], lookup)},
        "citation": policy.citation,
        "facts": {f: facts[f] for f in rule.fields if f in facts},
        "params": {k: value_words(v) for k, v in policy.params.items()},
    }


def review_disclosure(
    request: DisclosureRequest, ruleset: CompiledRuleset, matcher: Matcher, decision_id: str | None = None
) -> dict[str, Any]:
    """Flag late or missing disclosures; the result lists every department in request order."""
    all_facts = [disclosure_facts(d, request.fiscal_year) for d in request.departments]
    matches = matcher.match(all_facts)
    departments = []
    flag_counts: Counter[str] = Counter()
    for record, facts, matched in zip(request.departments, all_facts, matches, strict=True):
        flags: dict[str, dict[str, Any]] = {}
        explanations = []
        for policy in ruleset.policies:
            rule = next((r for r in policy.rules if r.key in matched), None)
            if rule is None:
                continue
            added = [flag_of(a, facts) for a in rule.actions if a.kind == "flag"]
            for flag in added:
                flags[flag["code"]] = flag
            explanations.append(_explanation(record, facts, policy, rule, added))
        flag_counts.update(flags.keys())
        departments.append(
            {
                "department_id": record.department_id,
                "name": record.name,
                "status": "flagged" if flags else "compliant",
                "flags": list(flags.values()),
                "explanations": explanations,
            }
        )
    flagged = sum(1 for d in departments if d["flags"])
    return {
        "decision_id": decision_id or str(uuid.uuid4()),
        "ruleset": ruleset.ref(),
        "subject": ruleset.subject,
        "fiscal_year": request.fiscal_year,
        "departments": departments,
        "summary": {
            "counts": {"compliant": len(departments) - flagged, "flagged": flagged},
            "flags": dict(sorted(flag_counts.items())),
        },
    }
