"""The policy file format (one policy a YAML file in ``policies/``), as pydantic models.

A policy declares what it is (id, titles, citations), which lines it applies to, its typed
parameters with defaults and allowed ranges, its rules (condition → actions → explanation), and
examples that run as tests. The JSON Schema for editors is generated from these models
(``budget-rules schema``; committed under ``schemas/``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from service.domain.conditions import Condition
from service.domain.records import LineKind

SLUG = r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$"
PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_.]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    """A text in Chinese and in English; both are required."""

    zh: str = Field(min_length=1, max_length=2000)
    en: str = Field(min_length=1, max_length=2000)


class Citation(_Strict):
    source: str = Field(min_length=1, max_length=32, description="key of a source document, e.g. WD2020")
    clause: str | None = Field(default=None, max_length=64, description="article or section, e.g. 三(二)")
    quote: str | None = Field(default=None, max_length=500, description="the words of the clause")


ParamType = Literal["score", "money", "rate", "integer", "choice", "choice_list", "boolean"]


class Parameter(_Strict):
    """A typed parameter: the numbers policy maintainers change in files, never in code."""

    type: ParamType
    default: Any
    min: Decimal | None = None
    max: Decimal | None = None
    choices: list[str] | None = None
    description: Bilingual | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Parameter:
        if self.type in ("choice", "choice_list") and not self.choices:
            raise ValueError(f"a {self.type} parameter needs its choices")
        if self.type not in ("choice", "choice_list") and self.choices:
            raise ValueError("only a choice or choice_list parameter has choices")
        check_parameter_value(self, self.default)
        return self


def check_parameter_value(spec: Parameter, value: Any) -> Any:
    """The value in the parameter's type, or ValueError saying what is wrong with it."""
    if spec.type == "choice":
        if value not in (spec.choices or []):
            raise ValueError(f"must be one of {', '.join(spec.choices or [])}, got {value!r}")
        return value
    if spec.type == "choice_list":
        if not isinstance(value, list | tuple):
            raise ValueError(f"must be a list of values from {', '.join(spec.choices or [])}, got {value!r}")
        unknown = [v for v in value if v not in (spec.choices or [])]
        if unknown:
            raise ValueError(f"must only hold values from {', '.join(spec.choices or [])}, got {unknown!r}")
        if len(set(value)) != len(value):
            raise ValueError(f"lists a value twice: {list(value)!r}")
        return list(value)
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"must be a number, got {value!r}")
    if spec.type == "integer":
        if not isinstance(value, int):
            raise ValueError(f"must be a whole number, got {value!r}")
        number = Decimal(value)
    else:
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
        except ArithmeticError:
            raise ValueError(f"must be a number, got {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"must be a finite number, got {value!r}")
    bounds = {"score": (Decimal(0), Decimal(100)), "rate": (Decimal(0), Decimal(1))}.get(spec.type)
    low = spec.min if spec.min is not None else (bounds[0] if bounds else None)
    high = spec.max if spec.max is not None else (bounds[1] if bounds else None)
    if spec.type == "money":
        low = Decimal(0) if low is None else low
        if number != number.quantize(Decimal("0.01")):
            raise ValueError(f"money has at most 2 decimals, got {value!r}")
    if spec.type == "score" and number != number.quantize(Decimal("0.000001")):
        raise ValueError(f"a score has at most 6 decimals, got {value!r}")
    if low is not None and number < low:
        raise ValueError(f"{number} is below the allowed minimum {low}")
    if high is not None and number > high:
        raise ValueError(f"{number} is above the allowed maximum {high}")
    return value if spec.type == "integer" else number


class ParamRef(_Strict):
    param: str


class FieldRef(_Strict):
    field: str


class ValueRef(_Strict):
    value: Decimal


Operand = Annotated[ParamRef | FieldRef | ValueRef, Field(union_mode="left_to_right")]


class Exclude(_Strict):
    action: Literal["exclude"]


class Cancel(_Strict):
    action: Literal["cancel"]


class Cap(_Strict):
    """amount = min(amount, field) when the field is present (e.g. 三公 only down)."""

    action: Literal["cap"]
    field: str


class Cut(_Strict):
    """amount = amount − round(amount × rate)."""

    action: Literal["cut"]
    rate: Operand


class SetTier(_Strict):
    """Set the funding tier; with ``only_from``, only lines currently in one of those tiers."""

    action: Literal["set_tier"]
    tier: int = Field(ge=0, le=9)
    only_from: list[int] | None = None


class Measure(_Strict):
    """A number carried by a flag: how far ``field`` is over ``over`` (e.g. days late past a deadline)."""

    field: str
    over: Operand
    as_: str = Field(alias="as", pattern=r"^[a-z][a-z0-9_]{0,40}$")


class AddFlag(_Strict):
    """Add a flag; with ``only_if_changed``, only when the rule's other actions changed the line.

    With ``measure``, the flag also carries ``field − over`` under the measure's name (and the
    explanation may use it as a placeholder).
    """

    action: Literal["flag"]
    code: str = Field(pattern=SLUG)
    only_if_changed: bool = False
    measure: Measure | None = None


class Protect(_Strict):
    """Protected spending (保障类): the line goes to ``tier``; policies declared ``on_protected: waive``
    do not change it and, where they would have, add the flag ``review_flag``; ``skip`` ones leave it alone."""

    action: Literal["protect"]
    tier: int = Field(default=0, ge=0, le=9)
    review_flag: str = Field(default="protected-review", pattern=SLUG)


class Reclaim(_Strict):
    """The whole balance of ``field`` is reclaimed into the pool (收回统筹); the amount is unchanged."""

    action: Literal["reclaim"]
    field: str


class PerformanceShare(_Strict):
    """公用经费 基础+绩效: amount = round(amount × (1 − share)) + round(amount × share × score / 100)."""

    action: Literal["performance_share"]
    share: Operand
    score: Operand


Action = Annotated[
    Exclude | Cancel | Cap | Cut | SetTier | AddFlag | Reclaim | PerformanceShare | Protect,
    Field(discriminator="action"),
]


class Rule(_Strict):
    """A line rule: when the condition holds, the actions apply, and the explanation says why."""

    id: str = Field(pattern=SLUG)
    when: Condition
    then: list[Action] = Field(min_length=1, max_length=8)
    explain: Bilingual
    citations: list[Citation] | None = Field(
        default=None, description="what this rule cites, when it differs from the policy's citations"
    )


class GroupRule(_Strict):
    """A cross-line rule: lines meeting ``where`` are compared with each other.

    ``match: pairs`` flags lines that agree on every ``same`` field and differ on every ``differ``
    field; ``match: groups`` flags every line of a group (equal ``same`` fields) of ``min_size`` or more.
    """

    id: str = Field(pattern=SLUG)
    match: Literal["pairs", "groups"]
    where: Condition
    same: list[str] = Field(min_length=1)
    differ: list[str] = Field(default_factory=list)
    min_size: Operand | int = 2
    then: list[AddFlag] = Field(min_length=1, max_length=1)
    explain: Bilingual


def _rule_tag(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "group" if isinstance(value, GroupRule) else "line"
    return "group" if isinstance(value, dict) and "match" in value else "line"


AnyRule = Annotated[
    Annotated[Rule, Tag("line")] | Annotated[GroupRule, Tag("group")],
    Discriminator(_rule_tag),
]


class ExpectedLine(_Strict):
    status: Literal["excluded", "cancelled", "reduced", "funded"] | None = None
    after_policies: Decimal | None = None
    recommended: Decimal | None = None
    reclaimed: Decimal | None = None
    tier: int | Literal["none"] | None = Field(default=None, description='a tier, or "none" for no tier')
    flags: list[str] | None = None
    fired: list[str] | None = None
    superseded: list[str] | None = None
    waived: list[str] | None = None


class Example(_Strict):
    """An input and its expected outcome; runs as a test of the policy (``budget-rules test``)."""

    name: str = Field(min_length=1)
    fiscal_year: int = 2021
    params: dict[str, Any] = Field(default_factory=dict, description="parameter overrides for this example")
    before: list[str] = Field(default_factory=list, description="policies (by id) that run before this one")
    after: list[str] = Field(default_factory=list, description="policies (by id) that run after this one")
    departments: list[dict[str, Any]] | None = Field(
        default=None, description="departments (or, for a department_disclosure policy, the disclosure records)"
    )
    projects: list[dict[str, Any]] = Field(default_factory=list)
    expect: dict[str, ExpectedLine] = Field(min_length=1, description="by project_id (department_id for disclosures)")


class Policy(_Strict):
    """One declarative policy (``policies/<id>.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Budget Rules policy")

    id: str = Field(pattern=SLUG)
    title: Bilingual
    summary: Bilingual | None = None
    citations: list[Citation] = Field(min_length=1)
    subject: Literal["project_lines", "department_disclosure"] = Field(
        default="project_lines", description="the records the policy judges: project lines or department disclosures"
    )
    applies_to: list[LineKind] | None = Field(default=None, description="line kinds; omitted = every kind")
    on_terminated: Literal["supersede", "apply"] = Field(
        default="supersede",
        description="on a line already excluded or cancelled: supersede (list as superseded) or apply anyway",
    )
    on_protected: Literal["apply", "waive", "skip"] = Field(
        default="apply",
        description=(
            "on a protected line (protect action of an earlier policy): apply as to any line; waive (list as "
            "waived, change nothing, add the review flag); or skip (change nothing, list nothing)"
        ),
    )
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rules: list[AnyRule] = Field(min_length=1, max_length=16)
    superseded_explain: Bilingual | None = None
    examples: list[Example] = Field(default_factory=list)

    @field_validator("parameters")
    @classmethod
    def _param_names(cls, value: dict[str, Parameter]) -> dict[str, Parameter]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name):
                raise ValueError(f"parameter name {name!r} must be lower_snake_case")
        return value

    @model_validator(mode="after")
    def _unique_rules(self) -> Policy:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate rule ids: {', '.join(dupes)}")
        kinds = {isinstance(r, GroupRule) for r in self.rules}
        if len(kinds) > 1:
            raise ValueError("a policy has either line rules or cross-line (group) rules, not both")
        return self

    @property
    def cross_line(self) -> bool:
        return isinstance(self.rules[0], GroupRule)
