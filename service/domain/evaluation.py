"""The precedence fold: from the rules each line matched to its amount, status, tier and flags.

The engines (durable-rules, or the plain evaluator) only say which compiled rules' conditions hold
for each line. Everything that depends on order is here, in plain Python: policies run in
precedence order, each seeing the amount left by the ones before; the first matching rule of a
policy applies; a line once excluded or cancelled is no longer changed by policies that supersede
(each that would have fired is listed as superseded); cross-line rules compare lines with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.domain.explain import Template, money_words, value_words
from service.domain.facts import FIELDS, LineFacts
from service.domain.money import ZERO, decimal_text, money_text, mul, round_fen
from service.domain.records import PROTECTION_TITLES, BudgetRequest, Project
from service.domain.ruleset import (
    BoundAction,
    CompiledGroupRule,
    CompiledPolicy,
    CompiledRule,
    CompiledRuleset,
)

PERCENT = Decimal("0.01")
EXCLUDED = "excluded"
CANCELLED = "cancelled"
TERMINAL_STATUS = {"exclude": EXCLUDED, "cancel": CANCELLED}
STATUS_WORDS = {EXCLUDED: ("不纳入预算", "excluded"), CANCELLED: ("取消", "cancelled")}

Matches = Sequence[frozenset[str]]
_FIELD_KINDS = {name: spec.type.value for name, spec in FIELDS.items()}
# Placeholders the fold fills per firing (see the ``extra`` mappings below): a parameter of the same name
# is never rendered ahead of time.
_PER_FIRING = frozenset(
    {"amount_before", "amount_after", "effect", "change", "reclaimed", "tier", "superseded_by"}
    | {"superseded_by_title", "status", "others", "group_size"}
)


@dataclass(slots=True)
class LineOutcome:
    """A line after the policies (before the envelope is shared)."""

    project: Project
    department_name: str
    facts: LineFacts
    amount: Decimal
    status: str | None = None  # excluded | cancelled | None (still in the budget)
    terminated_by: CompiledPolicy | None = None
    tier: int | None = None
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    reclaimed: Decimal = ZERO
    explanations: list[dict[str, Any]] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)  # "policy/rule" that applied
    superseded: list[str] = field(default_factory=list)
    # What the line would be had it not been excluded or cancelled: superseded rules act on this
    # shadow, so only rules that would really have changed the line are listed, with their amounts.
    shadow_amount: Decimal = ZERO
    shadow_tier: int | None = None
    flag_precedence: dict[str, int] = field(default_factory=dict)  # which policy added each flag
    # Protected spending (POLICIES.md policy 0): the policy that protected the line, and the flag that
    # waived policies add; ``waived`` lists "policy/rule" that would have changed the line.
    protected_by: CompiledPolicy | None = None
    review_flag: str | None = None
    waived: list[str] = field(default_factory=list)


def _fact_json(name: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_text(value) if _FIELD_KINDS[name] == "money" else decimal_text(value)
    return value


def param_json(value: Any) -> Any:
    return decimal_text(value) if isinstance(value, Decimal) else value


class Fold:
    """Runs the precedence fold of one compiled ruleset over matched lines."""

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.ruleset = ruleset
        self._params_json = {p.id: {k: param_json(v) for k, v in p.params.items()} for p in ruleset.policies}
        self._citations = {(p.id, r.rule_id): r.citation for p in ruleset.policies for r in p.rules if r.citation}
        # Where each per-line rule stands: (policy position, rule position), so a line visits only the rules
        # it matched, in precedence order, instead of every rule of every policy.
        self._rank = {
            rule.key: (i, j)
            for i, policy in enumerate(ruleset.policies)
            if not policy.group_rules
            for j, rule in enumerate(policy.rules)
        }
        # Each explanation template compiled once into a renderer (see _compile_renderer), per template pair
        # (by identity: the pair the ruleset holds) and per set of per-firing values the caller gives.
        self._renderers: dict[tuple[int, tuple[str, ...]], tuple[tuple[Template, Template], _Renderer, _Renderer]] = {}
        # Explanations that depend on a few values only (a score, a tier, a department's name), not on the line's
        # amounts: the same values give the same entry, so it is made once and copied (see _reuse_spec).
        self._reuse_specs: dict[tuple[int, tuple[str, ...]], tuple[_Value, ...] | None] = {}
        self._reused: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._action_names = {
            id(r.actions): "+".join([a.kind for a in r.actions]) for p in ruleset.policies for r in p.rules
        }

    def _render(
        self, pair: tuple[Template, Template], policy: CompiledPolicy, line: LineOutcome, extra: Mapping[str, Any]
    ) -> tuple[str, str]:
        """The Chinese and English texts of a template pair for one firing (``extra``: its per-firing values)."""
        key = (id(pair), tuple(extra))
        compiled = self._renderers.get(key)
        if compiled is None or compiled[0] is not pair:
            keys = frozenset(extra)
            compiled = (pair, _compile_renderer(pair[0], policy, keys), _compile_renderer(pair[1], policy, keys))
            self._renderers[key] = compiled
        return compiled[1](line, extra), compiled[2](line, extra)

    # -------------------------------------------------------------- per line

    def run(self, request: BudgetRequest, facts: Sequence[LineFacts], matches: Matches) -> list[LineOutcome]:
        departments = request.department_map()
        ids = [p.project_id for p in request.projects]
        group_flags = self.group_flags(ids, facts, matches)
        return [
            self.fold_line(
                project, departments[project.department_id].name, facts[i], matches[i], group_flags.get(i, {})
            )
            for i, project in enumerate(request.projects)
        ]

    def fold_line(
        self,
        project: Project,
        department_name: str,
        facts: LineFacts,
        matched: frozenset[str],
        group_flags: Mapping[str, list[tuple[CompiledGroupRule, Others]]],
    ) -> LineOutcome:
        """One line through every policy in precedence order (cross-line results given)."""
        line = LineOutcome(
            project=project,
            department_name=department_name,
            facts=facts,
            amount=project.requested,
            tier=self.ruleset.base_tiers.get(str(project.kind)),
        )
        policies = self.ruleset.policies
        if not group_flags:  # the common case: the first matched rule of each policy, in precedence order
            last = -1
            for i, j in sorted(self._rank[key] for key in matched if key in self._rank):
                if i != last:
                    last = i
                    self._apply(line, policies[i], policies[i].rules[j])
            return line
        for policy in policies:
            if policy.group_rules:
                for group_rule, others in group_flags.get(policy.id, ()):
                    self.apply_group(line, policy, group_rule, others)
                continue
            rule = next((r for r in policy.rules if r.key in matched), None)
            if rule is not None:
                self._apply(line, policy, rule)
        return line

    def _apply(self, line: LineOutcome, policy: CompiledPolicy, rule: CompiledRule) -> None:
        if line.status is not None and policy.on_terminated == "supersede":
            self._supersede(line, policy, rule)
            return
        if line.protected_by is not None and policy.on_protected != "apply":
            if policy.on_protected == "waive":
                self._waive(line, policy, rule)
            return
        before = line.amount
        changed = False
        for action in rule.actions:
            if not action.only_if_changed:
                changed = _act(action, line, policy) or changed
        if changed:
            for action in rule.actions:
                if action.only_if_changed:
                    _act(action, line, policy)
            line.fired.append(f"{policy.id}/{rule.rule_id}")
            effect = line.amount - before
            extra = {
                "amount_before": before,
                "amount_after": line.amount,
                "effect": effect,
                "change": abs(effect),
                "reclaimed": line.reclaimed,
                "tier": line.tier,
            }
            self._explain(
                line,
                policy,
                rule.rule_id,
                rule.actions,
                rule.explain,
                rule.fields,
                "applied",
                effect,
                extra,
                reuse=True,
            )

    def _supersede(self, line: LineOutcome, policy: CompiledPolicy, rule: CompiledRule) -> None:
        """List a rule that would have changed the line, had an earlier policy not terminated it."""
        by = line.terminated_by
        assert by is not None
        before = line.shadow_amount
        shadow = LineOutcome(line.project, line.department_name, line.facts, before, tier=line.shadow_tier)
        changed = False
        for action in rule.actions:
            if not action.only_if_changed and action.kind not in ("flag", "reclaim"):
                changed = _act(action, shadow, policy) or changed
        if not changed and any(a.kind not in ("flag", "reclaim") for a in rule.actions):
            return  # it would not have fired: not worth listing
        line.shadow_amount = shadow.amount
        line.shadow_tier = shadow.tier
        line.superseded.append(f"{policy.id}/{rule.rule_id}")
        status_zh, status_en = STATUS_WORDS[line.status or EXCLUDED]
        effect = ZERO  # a superseded rule changes nothing; the amounts below are what it would have done
        extra = {
            "superseded_by": by.id,
            "superseded_by_title": by.title.zh,
            "status": line.status,
            "amount_before": before,
            "amount_after": shadow.amount,
            "effect": shadow.amount - before,
            "change": abs(shadow.amount - before),
            "tier": shadow.tier,
        }
        if policy.superseded_explain is not None:
            templates = policy.superseded_explain
            entry = self._explain(
                line, policy, rule.rule_id, rule.actions, templates, rule.fields, "superseded", effect, extra
            )
        else:
            reason_zh, reason_en = self._render(rule.explain, policy, line, extra)
            zh = (
                f"本应适用「{policy.title.zh}」（{reason_zh}），"
                f"但该项目已被「{by.title.zh}」{status_zh}，本政策不再调整。"
            )
            en = (
                f"{policy.title.en} would have applied ({reason_en}), but the line was already "
                f"{status_en} by {by.title.en}; it is not changed further."
            )
            entry = self._entry(line, policy, rule.rule_id, rule.actions, "superseded", effect, zh, en, rule.fields)
        entry["superseded_by"] = by.id

    def _waive(self, line: LineOutcome, policy: CompiledPolicy, rule: CompiledRule) -> None:
        """List a rule that would have changed a protected line; the line gets the review flag instead."""
        by = line.protected_by
        assert by is not None
        before = line.amount
        shadow = LineOutcome(line.project, line.department_name, line.facts, before, tier=line.tier)
        changed = False
        for action in rule.actions:
            if not action.only_if_changed:
                changed = _act(action, shadow, policy) or changed
        if not changed:
            return  # it would not have fired: not worth listing
        line.waived.append(f"{policy.id}/{rule.rule_id}")
        code = line.review_flag or "protected-review"
        if code not in line.flags:
            line.flags[code] = {"code": code}
            line.flag_precedence.setdefault(code, policy.precedence)
        extra = {
            "amount_before": before,
            "amount_after": shadow.amount,
            "effect": shadow.amount - before,
            "change": abs(shadow.amount - before),
            "tier": shadow.tier,
        }
        protection = str(line.facts.get("protection"))
        title_zh, title_en = PROTECTION_TITLES.get(protection, (protection, protection))
        would_zh = "不予纳入预算" if shadow.status == EXCLUDED else "取消" if shadow.status == CANCELLED else ""
        would_en = "exclude the line" if shadow.status == EXCLUDED else "cancel the line" if shadow.status else ""
        if not would_zh and shadow.amount != before:
            would_zh = f"核减{money_words(before - shadow.amount)}元"
            would_en = f"cut {money_words(before - shadow.amount)}"
        reason_zh, reason_en = self._render(rule.explain, policy, line, extra)
        reason_zh, reason_en = reason_zh.rstrip("。"), reason_en.rstrip(".")
        would_zh = f"（本应{would_zh}）" if would_zh else ""
        would_en = f" (it would have had to {would_en})" if would_en else ""
        zh = (
            f"本应适用「{policy.title.zh}」（{reason_zh}），但该项目属保障类支出（{title_zh}），"
            f"按「{by.title.zh}」予以豁免{would_zh}：金额与状态不变，由部门说明原因并整改。"
        )
        en = (
            f"{policy.title.en} would have applied ({reason_en}), but the line is protected spending ({title_en}) "
            f"and is waived by {by.title.en}{would_en}: amount and status unchanged; the department must explain "
            "and correct the performance problem."
        )
        entry = self._entry(line, policy, rule.rule_id, rule.actions, "waived", ZERO, zh, en, rule.fields)
        entry["facts"]["protection"] = protection
        entry["waived_by"] = by.id

    def apply_group(self, line: LineOutcome, policy: CompiledPolicy, rule: CompiledGroupRule, others: Others) -> None:
        flag = BoundAction("flag", code=rule.code)
        shown = ", ".join(others.listed[:10]) + (f" …(+{others.count - 10})" if others.count > 10 else "")
        extra = {
            "others": shown,
            "group_size": others.count + 1,
            "amount_before": line.amount,
            "amount_after": line.amount,
            "effect": ZERO,
            "change": ZERO,
        }
        if line.status is not None and policy.on_terminated == "supersede":
            line.superseded.append(f"{policy.id}/{rule.rule_id}")
            entry = self._explain(
                line, policy, rule.rule_id, (flag,), rule.explain, rule.fields, "superseded", ZERO, extra
            )
            entry["superseded_by"] = line.terminated_by.id if line.terminated_by else None
            return
        line.flags[rule.code] = {"code": rule.code, "others": list(others.listed), "others_count": others.count}
        line.flag_precedence.setdefault(rule.code, policy.precedence)
        line.fired.append(f"{policy.id}/{rule.rule_id}")
        self._explain(
            line, policy, rule.rule_id, (flag,), rule.explain, rule.fields, "applied", ZERO, extra, reuse=True
        )

    # -------------------------------------------------------------- explanations

    def _explain(
        self,
        line: LineOutcome,
        policy: CompiledPolicy,
        rule_id: str,
        actions: Sequence[BoundAction],
        templates: tuple[Template, Template],
        fields: Sequence[str],
        outcome: str,
        effect: Decimal,
        extra: Mapping[str, Any],
        *,
        reuse: bool = False,
    ) -> dict[str, Any]:
        """The entry of one firing, added to the line's explanations.

        With ``reuse`` (an applied rule whose entry nobody changes afterwards), an entry made earlier with the
        same values (see :func:`_reuse_spec`) is copied instead of being rendered again.
        """
        if not reuse:
            zh, en = self._render(templates, policy, line, extra)
            return self._entry(line, policy, rule_id, actions, outcome, effect, zh, en, fields)
        site = (id(templates), tuple(extra))
        if site not in self._reuse_specs:
            self._reuse_specs[site] = _reuse_spec(templates, fields, policy, frozenset(extra))
        spec = self._reuse_specs[site]
        if spec is None:
            return self._explain(line, policy, rule_id, actions, templates, fields, outcome, effect, extra)
        key = (site, outcome, effect, *[get(line, extra) for get in spec])
        known = self._reused.get(key)
        if known is not None:
            entry = dict(known)
            line.explanations.append(entry)
            return entry
        entry = self._explain(line, policy, rule_id, actions, templates, fields, outcome, effect, extra)
        if len(self._reused) >= MAX_REUSED:
            self._reused.clear()
        self._reused[key] = dict(entry)
        return entry

    def _entry(
        self,
        line: LineOutcome,
        policy: CompiledPolicy,
        rule_id: str,
        actions: Sequence[BoundAction],
        outcome: str,
        effect: Decimal,
        zh: str,
        en: str,
        fields: Sequence[str],
    ) -> dict[str, Any]:
        facts = line.facts
        entry = {
            "policy": policy.id,
            "rule": rule_id,
            "outcome": outcome,
            "action": self._action_names.get(id(actions)) or "+".join([a.kind for a in actions]),
            "effect": money_text(effect),
            "reason": {"zh": zh, "en": en},
            "citation": self._citations.get((policy.id, rule_id), policy.citation),
            "facts": {f: _fact_json(f, facts[f]) for f in fields if f in facts},
            "params": self._params_json[policy.id],
        }
        line.explanations.append(entry)
        return entry

    # -------------------------------------------------------------- cross-line rules

    def group_flags(
        self,
        ids: Sequence[str],
        facts: Sequence[LineFacts] | Mapping[int, LineFacts],
        matches: Matches | Mapping[int, frozenset[str]],
    ) -> dict[int, dict[str, list[tuple[CompiledGroupRule, Others]]]]:
        """Cross-line results: for each line index, by policy id, the group rules it meets and its others.

        ``facts`` need only hold the fields the group rules compare. ``facts`` and ``matches`` may also be
        mappings by line index that hold only the lines meeting some cross-line rule (in the order of the lines).
        """
        out: dict[int, dict[str, list[tuple[CompiledGroupRule, Others]]]] = {}
        indexed = matches.items() if isinstance(matches, Mapping) else tuple(enumerate(matches))
        for policy in self.ruleset.policies:
            for rule in policy.group_rules:
                buckets: dict[tuple[Any, ...], list[int]] = {}
                rule_key, same = rule.key, rule.same
                for i, matched in indexed:
                    if rule_key in matched:
                        key = tuple(map(facts[i].get, same))
                        if None not in key:
                            buckets.setdefault(key, []).append(i)
                for members in buckets.values():
                    if len(members) < 2:
                        continue
                    for i, others in _group_members(rule, members, ids, facts):
                        out.setdefault(i, {}).setdefault(policy.id, []).append((rule, others))
        return out


def _bind_params(template: Template, policy: CompiledPolicy) -> Template:
    """The template with the policy's parameters rendered (all but the per-firing names)."""
    parts: list[str | tuple[str]] = []
    for part in template:
        if isinstance(part, tuple) and part[0] in policy.params and part[0] not in _PER_FIRING:
            part = value_words(policy.params[part[0]], policy.param_types.get(part[0]))
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        else:
            parts.append(part)
    return tuple(parts)


_Renderer = Callable[[LineOutcome, Mapping[str, Any]], str]
_Getter = Callable[[LineOutcome, Mapping[str, Any]], str]


def _compile_renderer(template: Template, policy: CompiledPolicy, extra_keys: frozenset[str]) -> _Renderer:
    """A template compiled once into a renderer for firings whose per-firing values have these keys.

    A placeholder is, in this order: a per-firing value (``extra``: money with separators, others as words),
    a parameter of the policy (rendered here, once), the line's ``name``, ``department.name``,
    ``protection_zh``/``protection_en``, or a fact (formatted by its kind, "—" when missing). Rendering is
    then one ``str.format`` of the getters' values.
    """
    bound = _bind_params(template, policy)
    pieces: list[str] = []
    getters: list[_Getter] = []
    for part in bound:
        if isinstance(part, str):
            pieces.append(part.replace("{", "{{").replace("}", "}}"))
        elif part[0] not in extra_keys and part[0] in policy.params:
            name = part[0]
            text = value_words(policy.params[name], policy.param_types.get(name))
            pieces.append(text.replace("{", "{{").replace("}", "}}"))
        else:
            pieces.append("{}")
            getters.append(_getter(part[0], extra_keys))
    if not getters:
        text = "".join(pieces).format()
        return lambda line, extra: text
    fill = "".join(pieces).format
    return lambda line, extra: fill(*[get(line, extra) for get in getters])


def _getter(name: str, extra_keys: frozenset[str]) -> _Getter:
    """The text of placeholder ``name`` for one firing (parameters are rendered by the caller)."""
    if name in extra_keys:
        return lambda line, extra: _extra_words(extra[name])
    if name == "name":
        return lambda line, extra: line.project.name
    if name == "department.name":
        return lambda line, extra: line.department_name
    if name in ("protection_zh", "protection_en"):
        which = 0 if name == "protection_zh" else 1
        return lambda line, extra: PROTECTION_TITLES.get(str(line.facts.get("protection")), ("—", "—"))[which]
    kind = _FIELD_KINDS.get(name)
    if kind == "money":
        return lambda line, extra: "—" if (value := line.facts.get(name)) is None else money_words(value)
    return lambda line, extra: value_words(line.facts.get(name), kind)


_Value = Callable[[LineOutcome, Mapping[str, Any]], Any]
MAX_REUSED = 4096  # distinct reusable entries kept per fold; past that the store starts again (bounded memory)
# Per-firing values that differ from line to line (amounts), and the line's own name: an explanation that shows
# any of them is not worth keeping for reuse.
_PER_LINE = frozenset({"amount_before", "amount_after", "effect", "change", "reclaimed", "name"})


def _reuse_spec(
    templates: tuple[Template, Template], fields: Sequence[str], policy: CompiledPolicy, extra_keys: frozenset[str]
) -> tuple[_Value, ...] | None:
    """The values an applied rule's explanation entry depends on besides the rule and its effect, or None.

    The entry is the rule's constants (policy, rule, action, citation, parameters), its effect, its two
    texts and its facts; the texts depend only on the placeholders left after the parameters are rendered,
    the facts only on the rule's fields. None when any of those varies with the line's amounts (money).
    """
    names = {
        part[0]
        for template in templates
        for part in _bind_params(template, policy)
        if isinstance(part, tuple) and (part[0] in extra_keys or part[0] not in policy.params)
    }
    facts = set(fields) | (names - extra_keys - {"department.name", "protection_zh", "protection_en"})
    if names & _PER_LINE or any(_FIELD_KINDS.get(f) == "money" for f in facts):
        return None
    values: list[_Value] = [_extra_value(n) for n in sorted(names & extra_keys)]
    if "department.name" in names:
        values.append(lambda line, extra: line.department_name)
    if names & {"protection_zh", "protection_en"}:
        facts.add("protection")
    values += [_fact_value(f) for f in sorted(facts)]
    return tuple(values)


def _extra_value(name: str) -> _Value:
    return lambda line, extra: extra[name]


def _fact_value(name: str) -> _Value:
    return lambda line, extra: line.facts.get(name)


def _extra_words(value: Any) -> str:
    return money_words(value) if isinstance(value, Decimal) else value_words(value)


@dataclass(frozen=True, slots=True)
class Others:
    """The other lines a cross-line flag names: the first MAX_LISTED ids (sorted) and how many in all."""

    listed: tuple[str, ...]
    count: int


MAX_LISTED = 50  # a province-sized group would otherwise list thousands of ids on every line


def _first_ids(sorted_ids: Sequence[str], exclude: set[str], limit: int = MAX_LISTED) -> tuple[str, ...]:
    out: list[str] = []
    for pid in sorted_ids:
        if pid not in exclude:
            out.append(pid)
            if len(out) == limit:
                break
    return tuple(out)


def _group_members(
    rule: CompiledGroupRule,
    members: list[int],
    project_ids: Sequence[str],
    facts: Sequence[LineFacts] | Mapping[int, LineFacts],
) -> list[tuple[int, Others]]:
    """Each member's others, in time linear in the group (lines of one subgroup share their others)."""
    ids = sorted(project_ids[j] for j in members)
    if rule.match == "groups":
        if len(members) < rule.min_size:
            return []
        return [(i, Others(_first_ids(ids, {project_ids[i]}), len(members) - 1)) for i in members]
    if len(rule.differ) != 1:  # several fields that must all differ: compare pairwise
        pairs = []
        for i in members:
            others = [j for j in members if j != i and all(facts[i].get(f) != facts[j].get(f) for f in rule.differ)]
            if others:
                other_ids = sorted(project_ids[j] for j in others)
                pairs.append((i, Others(tuple(other_ids[:MAX_LISTED]), len(other_ids))))
        return pairs
    field_name = rule.differ[0]
    subgroups: dict[Any, list[int]] = {}
    for i in members:
        subgroups.setdefault(facts[i].get(field_name), []).append(i)
    unknown = {project_ids[j] for j in subgroups.pop(None, [])}  # a missing field cannot be said to differ
    result: list[tuple[int, Others]] = []
    for subgroup in subgroups.values():
        count = len(members) - len(subgroup) - len(unknown)
        if count > 0:
            shared = Others(_first_ids(ids, unknown | {project_ids[j] for j in subgroup}), count)
            result += [(i, shared) for i in subgroup]
    return result


def _act(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    """Apply one action to a line; True when it changed something."""
    return _ACTIONS[action.kind](action, line, policy)


def _terminate(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    if line.status is None:
        line.shadow_amount = line.amount
        line.shadow_tier = line.tier
    line.status = TERMINAL_STATUS[action.kind]
    line.terminated_by = policy
    line.amount = ZERO
    line.tier = None
    return True


def _cap(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    limit = line.facts.get(action.field or "")
    if limit is None or line.amount <= limit:
        return False
    line.amount = limit
    return True


def _cut(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    assert action.rate is not None
    cut = round_fen(mul(line.amount, action.rate))
    if not cut:
        return False
    line.amount -= cut
    return True


def _set_tier(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    if line.tier is None or line.tier == action.tier:
        return False
    if action.only_from is not None and line.tier not in action.only_from:
        return False
    line.tier = action.tier
    return True


def _flag(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    code = action.code or ""
    line.flags[code] = flag_of(action, line.facts)
    line.flag_precedence.setdefault(code, policy.precedence)
    return True


def flag_of(action: BoundAction, facts: LineFacts) -> dict[str, Any]:
    """The flag an action adds; with a measure, it carries ``field − over`` under the measure's name."""
    flag: dict[str, Any] = {"code": action.code or ""}
    if action.measure_field and action.measure_as and action.measure_over is not None:
        value = facts.get(action.measure_field)
        if value is not None:
            excess = value - action.measure_over
            flag[action.measure_as] = int(excess) if excess == excess.to_integral_value() else str(excess)
    return flag


def _protect(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    line.protected_by = policy
    line.review_flag = action.code
    if line.tier is not None and action.tier is not None:
        line.tier = action.tier
    return True


def _reclaim(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    balance = line.facts.get(action.field or "")
    if not balance:
        return False
    line.reclaimed += balance
    return True


def _performance_share(action: BoundAction, line: LineOutcome, policy: CompiledPolicy) -> bool:
    assert action.rate is not None
    share = action.rate
    score = line.facts.get(action.score_field) if action.score_field else action.score_value
    score = score if score is not None else ZERO
    amount = line.amount
    new = round_fen(mul(amount, 1 - share)) + round_fen(mul(amount, share, score, PERCENT))
    if new == amount:
        return False
    line.amount = new
    return True


_ACTIONS: dict[str, Callable[[BoundAction, LineOutcome, CompiledPolicy], bool]] = {
    "exclude": _terminate,
    "cancel": _terminate,
    "cap": _cap,
    "cut": _cut,
    "set_tier": _set_tier,
    "flag": _flag,
    "reclaim": _reclaim,
    "performance_share": _performance_share,
    "protect": _protect,
}
