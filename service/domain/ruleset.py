"""Rulesets: which policies apply, with which parameters and precedence, for which fiscal years.

A ruleset file (``rulesets/<id>.yaml``) binds policies from ``policies/`` and is compiled, together
with them, into a :class:`CompiledRuleset`: the policy IR (normalized conditions, bound actions,
pre-parsed explanation templates) that both evaluators run and that the fold reads. The ruleset's
digest is the sha256 of the canonical JSON of the ruleset and every policy it uses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.domain.conditions import (
    Compare,
    ConditionError,
    Node,
    Op,
    all_of,
    any_of,
    fields_of,
    normalize,
)
from service.domain.errors import InvalidPolicy, Problem
from service.domain.explain import Template, compile_template
from service.domain.facts import FIELDS, FieldType, subject_fields
from service.domain.policy import (
    PLACEHOLDER,
    SLUG,
    AddFlag,
    Bilingual,
    Cap,
    Citation,
    Cut,
    FieldRef,
    GroupRule,
    ParamRef,
    PerformanceShare,
    Policy,
    Protect,
    Reclaim,
    Rule,
    SetTier,
    ValueRef,
    check_parameter_value,
)
from service.domain.records import LineKind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Effective(_Strict):
    from_year: int = Field(ge=2000, le=2100)
    to_year: int | None = Field(default=None, ge=2000, le=2100)

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.to_year is not None and self.to_year < self.from_year:
            raise ValueError("to_year is before from_year")
        return self

    def covers(self, year: int) -> bool:
        return self.from_year <= year and (self.to_year is None or year <= self.to_year)


class PolicyBinding(_Strict):
    policy: str = Field(pattern=SLUG)
    precedence: int = Field(ge=0, le=999)
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class RulesetFile(_Strict):
    """A ruleset (``rulesets/<id>.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Budget Rules ruleset")

    id: str = Field(pattern=SLUG)
    title: Bilingual
    description: Bilingual | None = None
    subject: Literal["project_lines", "department_disclosure"] = "project_lines"
    effective: Effective
    base_tiers: dict[LineKind, int] = Field(
        default_factory=lambda: {LineKind.public_operating: 0, LineKind.three_public: 0, LineKind.project: 3}
    )
    sources: dict[str, Bilingual] = Field(default_factory=dict, description="citation keys → documents")
    policies: list[PolicyBinding] = Field(min_length=1, max_length=64)


# ------------------------------------------------------------------------------- compiled IR


@dataclass(frozen=True, slots=True)
class BoundAction:
    """An action with its parameters resolved to values."""

    kind: str  # exclude | cancel | cap | cut | set_tier | flag | reclaim | performance_share | protect
    field: str | None = None
    rate: Decimal | None = None
    score_field: str | None = None
    score_value: Decimal | None = None
    tier: int | None = None
    only_from: tuple[int, ...] | None = None
    code: str | None = None
    only_if_changed: bool = False
    measure_field: str | None = None
    measure_over: Decimal | None = None
    measure_as: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledRule:
    key: str  # engine rule name, unique in the ruleset, e.g. "p03r01"
    policy_id: str
    rule_id: str
    condition: Node
    actions: tuple[BoundAction, ...]
    explain: tuple[Template, Template]  # zh, en
    fields: tuple[str, ...]
    citation: str | None = None  # the rule's own citation, when it differs from the policy's


@dataclass(frozen=True, slots=True)
class CompiledGroupRule:
    key: str
    policy_id: str
    rule_id: str
    where: Node
    match: Literal["pairs", "groups"]
    same: tuple[str, ...]
    differ: tuple[str, ...]
    min_size: int
    code: str
    explain: tuple[Template, Template]
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    id: str
    title: Bilingual
    citation: str
    precedence: int
    on_terminated: str
    params: Mapping[str, Any]
    param_types: Mapping[str, str]
    rules: tuple[CompiledRule, ...]
    group_rules: tuple[CompiledGroupRule, ...]
    superseded_explain: tuple[Template, Template] | None
    on_protected: str = "apply"  # apply | waive | skip (POLICIES.md policy 0)


@dataclass(frozen=True, slots=True)
class CompiledRuleset:
    id: str
    revision: str
    digest: str
    title: Bilingual
    effective: Effective
    base_tiers: Mapping[str, int]
    policies: tuple[CompiledPolicy, ...]
    match_rules: tuple[tuple[str, Node], ...] = field(default=())
    subject: str = "project_lines"

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "revision": self.revision, "digest": self.digest}


# ------------------------------------------------------------------------------- canonical form


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text; decimals and other scalars as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_result_json(value: Any) -> str:
    """:func:`canonical_json` of a document this service built (a result: text, whole numbers, booleans, null,
    lists, dicts with text keys, money and scores as ``Decimal`` or text; never a float), through orjson.

    For those values orjson writes the same characters as the standard library's canonical form, about 4x
    faster: the same escapes (``\\n``, ``\\u001f``; no ASCII escaping), keys sorted by code point (UTF-8 byte
    order is code point order), ``Decimal`` through ``str``. What orjson refuses (a number beyond 64 bits, a
    key that is not text, a lone surrogate) goes to the standard library. Input documents may hold floats,
    which orjson writes differently (``1e+16``): they keep :func:`canonical_json`. ``bench/canonical_check.py``
    compares the two on the demo and on generated requests.
    """
    try:
        return orjson.dumps(value, default=_decimal_text, option=_ORJSON_CANONICAL).decode()
    except (TypeError, orjson.JSONEncodeError):
        return canonical_json(value)


def canonical_result_bytes(value: Any) -> bytes:
    """:func:`canonical_result_json` as UTF-8 bytes, without a round trip through ``str`` (for hashing)."""
    try:
        return orjson.dumps(value, default=_decimal_text, option=_ORJSON_CANONICAL)
    except (TypeError, orjson.JSONEncodeError):
        return canonical_json(value).encode("utf-8")


# Types that orjson would write its own way (datetimes in ISO form, dataclasses as objects, subclasses of str,
# int, dict, list) are passed to the default hook, which sends them to the standard library.
_ORJSON_CANONICAL = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _decimal_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)  # anything else: the standard library's default=str decides


def ruleset_digest(ruleset: RulesetFile, policies: Mapping[str, Policy]) -> str:
    used = {
        b.policy: policies[b.policy].model_dump(mode="json", by_alias=True)
        for b in ruleset.policies
        if b.policy in policies
    }
    content = {"ruleset": ruleset.model_dump(mode="json", by_alias=True), "policies": used}
    return "sha256:" + hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------- compilation

COMPUTED_PLACEHOLDERS = frozenset(
    {
        "amount_before",
        "amount_after",
        "effect",
        "change",
        "reclaimed",
        "tier",
        "others",
        "group_size",
        "name",
        "department.name",
        "superseded_by",
        "superseded_by_title",
        "status",
        "protection_zh",
        "protection_en",
    }
)


def _operand(value: Any, policy: Policy, params: Mapping[str, Any], path: tuple[str | int, ...]) -> Decimal | str:
    """Resolve an action operand: a parameter's value, a literal, or a field name (returned as str)."""
    if isinstance(value, ParamRef):
        if value.param not in params:
            raise ConditionError((*path, "param"), f"unknown parameter {value.param!r}")
        return Decimal(str(params[value.param]))
    if isinstance(value, FieldRef):
        if value.field not in FIELDS:
            raise ConditionError((*path, "field"), f"unknown field {value.field!r}")
        return value.field
    if isinstance(value, ValueRef):
        return value.value
    return Decimal(value)


def _bind_action(action: Any, policy: Policy, params: Mapping[str, Any], path: tuple[str | int, ...]) -> BoundAction:
    if isinstance(action, Cap | Reclaim):
        spec = FIELDS.get(action.field)
        if spec is None or spec.type is not FieldType.money:
            raise ConditionError((*path, "field"), f"{action.action} needs a money field, got {action.field!r}")
        return BoundAction(action.action, field=action.field)
    if isinstance(action, Cut):
        rate = _operand(action.rate, policy, params, (*path, "rate"))
        if not isinstance(rate, Decimal) or not Decimal(0) <= rate <= Decimal(1):
            raise ConditionError((*path, "rate"), f"a cut rate is a number from 0 to 1, got {rate!r}")
        return BoundAction("cut", rate=rate)
    if isinstance(action, SetTier):
        return BoundAction(
            "set_tier", tier=action.tier, only_from=tuple(action.only_from) if action.only_from else None
        )
    if isinstance(action, AddFlag):
        if action.measure is None:
            return BoundAction("flag", code=action.code, only_if_changed=action.only_if_changed)
        measured = action.measure
        spec = FIELDS.get(measured.field)
        if spec is None or spec.type not in (FieldType.integer, FieldType.money, FieldType.score):
            raise ConditionError(
                (*path, "measure", "field"), f"a measure needs a numeric field, got {measured.field!r}"
            )
        over = _operand(measured.over, policy, params, (*path, "measure", "over"))
        if not isinstance(over, Decimal):
            raise ConditionError((*path, "measure", "over"), "a measure is taken over a number or a parameter")
        return BoundAction(
            "flag",
            code=action.code,
            only_if_changed=action.only_if_changed,
            measure_field=measured.field,
            measure_over=over,
            measure_as=measured.as_,
        )
    if isinstance(action, Protect):
        return BoundAction("protect", tier=action.tier, code=action.review_flag)
    if isinstance(action, PerformanceShare):
        share = _operand(action.share, policy, params, (*path, "share"))
        if not isinstance(share, Decimal) or not Decimal(0) <= share <= Decimal(1):
            raise ConditionError((*path, "share"), f"a share is a number from 0 to 1, got {share!r}")
        score = _operand(action.score, policy, params, (*path, "score"))
        if isinstance(score, str):
            if FIELDS[score].type is not FieldType.score:
                raise ConditionError((*path, "score"), f"{score} is not a score field")
            return BoundAction("performance_share", rate=share, score_field=score)
        return BoundAction("performance_share", rate=share, score_value=score)
    return BoundAction(action.action)


def _kind_guard(policy: Policy) -> Node | None:
    if not policy.applies_to:
        return None
    return any_of([Compare("kind", Op.eq, k.value) for k in policy.applies_to])


def _template_pair(
    text: Bilingual,
    allowed: frozenset[str],
    path: tuple[str | int, ...],
    problems: list[Problem],
    source: str,
) -> tuple[Template, Template]:
    for lang in ("zh", "en"):
        for name in PLACEHOLDER.findall(getattr(text, lang)):
            if name not in allowed:
                problems.append(
                    Problem(
                        (*path, lang),
                        f"placeholder {{{name}}} is not a fact, parameter or computed value",
                        source=source,
                    )
                )
    return compile_template(text.zh), compile_template(text.en)


def bind_parameters(
    policy: Policy, overrides: Mapping[str, Any], path: tuple[str | int, ...], source: str
) -> tuple[dict[str, Any], list[Problem]]:
    """Defaults overlaid with the ruleset's values, each checked against its declared type and range."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for name in overrides:
        if name not in policy.parameters:
            known = ", ".join(sorted(policy.parameters)) or "none"
            problems.append(
                Problem(
                    (*path, name),
                    f"unknown parameter of {policy.id} (its parameters: {known})",
                    source=source,
                )
            )
    for name, spec in policy.parameters.items():
        raw = overrides.get(name, spec.default)
        try:
            values[name] = check_parameter_value(spec, raw)
        except ValueError as error:
            problems.append(Problem((*path, name), f"parameter {name}: {error}", source=source))
    return values, problems


def compile_policy(
    policy: Policy,
    index: int,
    precedence: int,
    params: Mapping[str, Any],
    sources: Mapping[str, Bilingual],
    policy_source: str,
) -> tuple[CompiledPolicy, list[Problem]]:
    problems: list[Problem] = []
    guard = _kind_guard(policy)
    measures = frozenset(
        a.measure.as_
        for r in policy.rules
        if isinstance(r, Rule)
        for a in r.then
        if isinstance(a, AddFlag) and a.measure
    )
    allowed = frozenset(subject_fields(policy.subject)) | frozenset(params) | COMPUTED_PLACEHOLDERS | measures
    rules: list[CompiledRule] = []
    group_rules: list[CompiledGroupRule] = []
    for j, rule in enumerate(policy.rules):
        path: tuple[str | int, ...] = ("rules", j)
        key = f"p{index:02d}r{j:02d}"
        try:
            if isinstance(rule, Rule):
                cond = normalize(rule.when, params, (*path, "when"), policy.subject)
                cond = all_of([guard, cond]) if guard is not None else cond
                actions = tuple(_bind_action(a, policy, params, (*path, "then", k)) for k, a in enumerate(rule.then))
                if policy.subject != "project_lines" and any(a.kind != "flag" for a in actions):
                    raise ConditionError((*path, "then"), f"a {policy.subject} policy can only flag records")
                explain = _template_pair(rule.explain, allowed, (*path, "explain"), problems, policy_source)
                own_citation = (
                    citation_text(rule.citations, sources, (*path, "citations"), problems, policy_source)
                    if rule.citations
                    else None
                )
                fields = fields_of(cond)
                for a in actions:
                    for f in (a.field, a.score_field, a.measure_field):
                        if f and f not in fields:
                            fields.append(f)
                rules.append(CompiledRule(key, policy.id, rule.id, cond, actions, explain, tuple(fields), own_citation))
            elif isinstance(rule, GroupRule):
                group_rules.append(
                    _compile_group_rule(rule, key, policy, params, guard, allowed, path, problems, policy_source)
                )
        except ConditionError as error:
            problems.append(Problem(error.path, error.message, source=policy_source))
    superseded = None
    if policy.superseded_explain is not None:
        superseded = _template_pair(
            policy.superseded_explain, allowed, ("superseded_explain",), problems, policy_source
        )
    citation = citation_text(policy.citations, sources, ("citations",), problems, policy_source)
    compiled = CompiledPolicy(
        id=policy.id,
        title=policy.title,
        citation=citation,
        precedence=precedence,
        on_terminated=policy.on_terminated,
        params=dict(params),
        param_types={n: s.type for n, s in policy.parameters.items()},
        rules=tuple(rules),
        group_rules=tuple(group_rules),
        superseded_explain=superseded,
        on_protected=policy.on_protected,
    )
    return compiled, problems


def citation_text(
    citations: Sequence[Citation],
    sources: Mapping[str, Bilingual],
    path: tuple[str | int, ...],
    problems: list[Problem],
    source: str,
) -> str:
    """What a person reads: each cited document by its full title, then the clause and its words.

    e.g. ``武定县2020年预算绩效管理工作自评报告 一(三)6「对项目绩效目标评分低于65分的项目一律不纳入年初预算」``.
    """
    parts = []
    for k, c in enumerate(citations):
        document = sources.get(c.source)
        if document is None:
            problems.append(
                Problem(
                    (*path, k, "source"),
                    f"unknown source {c.source!r}: add it to the ruleset's sources",
                    source=source,
                )
            )
        title = document.zh if document is not None else c.source
        parts.append(title + (f" {c.clause}" if c.clause else "") + (f"「{c.quote}」" if c.quote else ""))
    return "；".join(parts)


def _compile_group_rule(
    rule: GroupRule,
    key: str,
    policy: Policy,
    params: Mapping[str, Any],
    guard: Node | None,
    allowed: frozenset[str],
    path: tuple[str | int, ...],
    problems: list[Problem],
    source: str,
) -> CompiledGroupRule:
    where = normalize(rule.where, params, (*path, "where"), policy.subject)
    where = all_of([guard, where]) if guard is not None else where
    for name in (*rule.same, *rule.differ):
        if name not in FIELDS:
            raise ConditionError((*path, "same"), f"unknown field {name!r}")
    min_size = rule.min_size
    if not isinstance(min_size, int):
        resolved = _operand(min_size, policy, params, (*path, "min_size"))
        if not isinstance(resolved, Decimal) or resolved != resolved.to_integral_value() or resolved < 2:
            raise ConditionError((*path, "min_size"), "min_size is a whole number of at least 2")
        min_size = int(resolved)
    elif min_size < 2:
        raise ConditionError((*path, "min_size"), "min_size is a whole number of at least 2")
    explain = _template_pair(rule.explain, allowed, (*path, "explain"), problems, source)
    fields = [*fields_of(where)] + [f for f in (*rule.same, *rule.differ) if f not in fields_of(where)]
    return CompiledGroupRule(
        key,
        policy.id,
        rule.id,
        where,
        rule.match,
        tuple(rule.same),
        tuple(rule.differ),
        min_size,
        rule.then[0].code,
        explain,
        tuple(fields),
    )


def compile_ruleset(
    ruleset: RulesetFile,
    policies: Mapping[str, Policy],
    *,
    ruleset_source: str = "ruleset",
    policy_sources: Mapping[str, str] | None = None,
    digest: str | None = None,
) -> CompiledRuleset:
    """Compile a ruleset and its policies into the IR, or raise InvalidPolicy listing every problem."""
    problems: list[Problem] = []
    policy_sources = policy_sources or {}
    precedences: dict[int, str] = {}
    compiled: list[CompiledPolicy] = []
    seen: set[str] = set()
    ordered = sorted(enumerate(ruleset.policies), key=lambda item: item[1].precedence)
    for position, (i, binding) in enumerate(ordered):
        path: tuple[str | int, ...] = ("policies", i)
        if binding.policy in seen:
            problems.append(
                Problem((*path, "policy"), f"policy {binding.policy} is bound twice", source=ruleset_source)
            )
            continue
        seen.add(binding.policy)
        if binding.precedence in precedences:
            problems.append(
                Problem(
                    (*path, "precedence"),
                    f"precedence {binding.precedence} is also given to {precedences[binding.precedence]}: "
                    "precedences must differ",
                    source=ruleset_source,
                )
            )
        precedences[binding.precedence] = binding.policy
        policy = policies.get(binding.policy)
        if policy is None:
            problems.append(
                Problem(
                    (*path, "policy"),
                    f"no policy {binding.policy!r} (expected policies/{binding.policy}.yaml)",
                    source=ruleset_source,
                )
            )
            continue
        if policy.subject != ruleset.subject:
            problems.append(
                Problem(
                    (*path, "policy"),
                    f"policy {policy.id} judges {policy.subject} records; this ruleset is about {ruleset.subject}",
                    source=ruleset_source,
                )
            )
            continue
        if not binding.enabled:
            continue
        params, param_problems = bind_parameters(policy, binding.params, (*path, "params"), ruleset_source)
        problems += param_problems
        if param_problems:
            continue
        item, more = compile_policy(
            policy,
            position + 1,
            binding.precedence,
            params,
            ruleset.sources,
            policy_sources.get(policy.id, policy.id),
        )
        problems += more
        compiled.append(item)
    if problems:
        raise InvalidPolicy(problems)
    digest = digest or ruleset_digest(ruleset, policies)
    match_rules: list[tuple[str, Node]] = []
    for p in compiled:
        match_rules += [(r.key, r.condition) for r in p.rules]
        match_rules += [(g.key, g.where) for g in p.group_rules]
    return CompiledRuleset(
        id=ruleset.id,
        revision=digest.removeprefix("sha256:")[:12],
        digest=digest,
        title=ruleset.title,
        effective=ruleset.effective,
        base_tiers={k.value: v for k, v in ruleset.base_tiers.items()},
        policies=tuple(compiled),
        match_rules=tuple(match_rules),
        subject=ruleset.subject,
    )
