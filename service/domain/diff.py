"""What changes between two ruleset revisions, and what that change does to a dataset.

:func:`diff_rulesets` compares two compiled revisions: policies added and removed, parameters changed
(old → new), precedence changed, rules whose conditions or actions changed; with readable lines in
Chinese and English. :func:`impact` runs both revisions on one request and reports totals before and
after, per department, and every line whose status or amount changes, with both explanations.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from service.domain.conditions import describe
from service.domain.decision import Matcher, recommend
from service.domain.evaluation import param_json
from service.domain.records import BudgetRequest
from service.domain.ruleset import CompiledPolicy, CompiledRuleset


def _rules(policy: CompiledPolicy) -> dict[str, str]:
    out = {r.rule_id: f"when {describe(r.condition)} then {', '.join(a.kind for a in r.actions)}" for r in policy.rules}
    for g in policy.group_rules:
        out[g.rule_id] = f"{g.match} of {describe(g.where)} by {', '.join(g.same)} (min {g.min_size}) flag {g.code}"
    return out


def diff_rulesets(old: CompiledRuleset, new: CompiledRuleset) -> dict[str, Any]:
    before = {p.id: p for p in old.policies}
    after = {p.id: p for p in new.policies}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    params: list[dict[str, Any]] = []
    precedence: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    for pid in sorted(set(before) & set(after)):
        a, b = before[pid], after[pid]
        for name in sorted(set(a.params) | set(b.params)):
            old_value, new_value = a.params.get(name), b.params.get(name)
            if old_value != new_value:
                params.append(
                    {"policy": pid, "parameter": name, "old": param_json(old_value), "new": param_json(new_value)}
                )
        if a.precedence != b.precedence:
            precedence.append({"policy": pid, "old": a.precedence, "new": b.precedence})
        ra, rb = _rules(a), _rules(b)
        for rid in sorted(set(ra) | set(rb)):
            if ra.get(rid) != rb.get(rid):
                rules.append({"policy": pid, "rule": rid, "old": ra.get(rid), "new": rb.get(rid)})
    zh: list[str] = []
    en: list[str] = []
    for pid in added:
        zh.append(f"新增政策 {pid}（{after[pid].title.zh}）")
        en.append(f"policy added: {pid} ({after[pid].title.en})")
    for pid in removed:
        zh.append(f"删除政策 {pid}（{before[pid].title.zh}）")
        en.append(f"policy removed: {pid} ({before[pid].title.en})")
    for item in params:
        zh.append(f"{item['policy']} 参数 {item['parameter']}：{item['old']} → {item['new']}")
        en.append(f"{item['policy']} parameter {item['parameter']}: {item['old']} → {item['new']}")
    for item in precedence:
        zh.append(f"{item['policy']} 优先级：{item['old']} → {item['new']}")
        en.append(f"{item['policy']} precedence: {item['old']} → {item['new']}")
    for item in rules:
        zh.append(f"{item['policy']} 规则 {item['rule']} 条件或动作改变：{item['old']} → {item['new']}")
        en.append(f"{item['policy']} rule {item['rule']} changed: {item['old']} → {item['new']}")
    return {
        "from": old.ref(),
        "to": new.ref(),
        "identical": old.digest == new.digest,
        "policies_added": added,
        "policies_removed": removed,
        "parameters_changed": params,
        "precedence_changed": precedence,
        "rules_changed": rules,
        "text": {"zh": zh, "en": en},
    }


def impact(
    request: BudgetRequest,
    current: CompiledRuleset,
    proposed: CompiledRuleset,
    matcher_for: Callable[[CompiledRuleset], Matcher],
) -> dict[str, Any]:
    """Run both revisions on one request; report totals, departments and every changed line."""
    a = recommend(request, current, matcher_for(current), decision_id="impact-current")
    b = recommend(request, proposed, matcher_for(proposed), decision_id="impact-proposed")
    changed = []
    status_changes = amount_changes = 0
    for la, lb in zip(a["lines"], b["lines"], strict=True):
        status_changed = la["status"] != lb["status"]
        amount_changed = la["recommended"] != lb["recommended"]
        if not (status_changed or amount_changed):
            continue
        status_changes += status_changed
        amount_changes += amount_changed
        changed.append(
            {
                "project_id": la["project_id"],
                "department_id": la["department_id"],
                "name": la["name"],
                "before": {k: la[k] for k in ("status", "tier", "after_policies", "recommended")},
                "after": {k: lb[k] for k in ("status", "tier", "after_policies", "recommended")},
                "change": str(Decimal(lb["recommended"]) - Decimal(la["recommended"])),
                "explanations_before": la["explanations"],
                "explanations_after": lb["explanations"],
            }
        )
    departments = []
    dept_b = {d["department_id"]: d for d in b["summary"]["departments"]}
    for d in a["summary"]["departments"]:
        other = dept_b.get(d["department_id"], d)
        departments.append(
            {
                "department_id": d["department_id"],
                "name": d["name"],
                "recommended_before": d["totals"]["recommended"],
                "recommended_after": other["totals"]["recommended"],
                "change": str(Decimal(other["totals"]["recommended"]) - Decimal(d["totals"]["recommended"])),
            }
        )
    return {
        "current": current.ref(),
        "proposed": proposed.ref(),
        "fiscal_year": request.fiscal_year,
        "totals_before": a["summary"]["totals"],
        "totals_after": b["summary"]["totals"],
        "counts_before": a["summary"]["counts"],
        "counts_after": b["summary"]["counts"],
        "lines_with_status_change": status_changes,
        "lines_with_amount_change": amount_changes,
        "departments": departments,
        "lines": changed,
    }
