"""The condition language of policy files, and its normalized form.

File syntax (YAML), recursive:

    {all: [C, ...]}   {any: [C, ...]}   {not: C}
    {field: F, op: lt|lte|gt|gte|eq|ne|in, value: V | param: P | ref: G}
    {present: F}      {missing: F}
    {param: P, op: eq|ne|lt|lte|gt|gte|in, value: V}      (decided when the ruleset is compiled)

A comparison is true only when every field it reads is present. ``not`` is pushed down to the
leaves when the condition is normalized (``not F < 65`` becomes ``F >= 65 or F missing``), so that
both evaluators (durable-rules and plain Python) see the same small set of node types. Nothing is
ever passed to Python ``eval``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from service.domain.facts import FIELDS, PROJECT_LINES, coerce_literal


class Op(StrEnum):
    lt = "lt"
    lte = "lte"
    gt = "gt"
    gte = "gte"
    eq = "eq"
    ne = "ne"
    in_ = "in"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldTest(_Strict):
    """Compare a fact with a literal, a parameter or another fact."""

    field: str
    op: Op
    value: Any = None
    param: str | None = None
    ref: str | None = None

    @model_validator(mode="after")
    def _one_operand(self) -> FieldTest:
        given = [k for k in ("value", "param", "ref") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a field test needs exactly one of value, param or ref")
        if self.ref is not None and self.op is Op.in_:
            raise ValueError("'in' compares with a list of values, not with another field")
        return self


class ParamTest(_Strict):
    """A test on a parameter alone, decided when the ruleset is compiled (e.g. ``missing: flag``)."""

    param: str
    op: Op
    value: Any


class PresentTest(_Strict):
    present: str


class MissingTest(_Strict):
    missing: str


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class NotOf(_Strict):
    not_: Condition = Field(alias="not")


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return _MODEL_TAGS.get(type(value).__name__)
    if not isinstance(value, Mapping):
        return None
    for key in ("all", "any", "not", "present", "missing"):
        if key in value:
            return key
    if "field" in value:
        return "field"
    if "param" in value:
        return "param"
    return None


Condition = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")]
    | Annotated[PresentTest, Tag("present")]
    | Annotated[MissingTest, Tag("missing")]
    | Annotated[FieldTest, Tag("field")]
    | Annotated[ParamTest, Tag("param")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition",
        custom_error_message="a condition is one of all, any, not, present, missing, a field test or a param test",
    ),
]
_MODEL_TAGS = {
    "AllOf": "all",
    "AnyOf": "any",
    "NotOf": "not",
    "PresentTest": "present",
    "MissingTest": "missing",
    "FieldTest": "field",
    "ParamTest": "param",
}
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


# ---------------------------------------------------------------- normalized form (the policy IR)


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: Op  # never `in` after normalization: `in` becomes an AnyOf of eq
    value: Any = None  # a literal in the field's domain type, or None when `ref` is set
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Present:
    field: str


@dataclass(frozen=True, slots=True)
class Absent:
    field: str


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


Node = Compare | Present | Absent | And | Or | Const
TRUE = Const(True)
FALSE = Const(False)

_NEGATED = {Op.lt: Op.gte, Op.lte: Op.gt, Op.gt: Op.lte, Op.gte: Op.lt, Op.eq: Op.ne, Op.ne: Op.eq}
_PY_OPS: dict[Op, Callable[[Any, Any], bool]] = {
    Op.lt: operator.lt,
    Op.lte: operator.le,
    Op.gt: operator.gt,
    Op.gte: operator.ge,
    Op.eq: operator.eq,
    Op.ne: operator.ne,
}


class ConditionError(ValueError):
    """A condition that cannot be compiled; ``path`` locates it inside the condition."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def all_of(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        if item == FALSE:
            return FALSE
        if item == TRUE:
            continue
        flat.extend(item.items if isinstance(item, And) else (item,))
    if not flat:
        return TRUE
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def any_of(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        if item == TRUE:
            return TRUE
        if item == FALSE:
            continue
        flat.extend(item.items if isinstance(item, Or) else (item,))
    if not flat:
        return FALSE
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def negate(node: Node) -> Node:
    """not(node), with the negation pushed down to the leaves (a comparison on a missing field is false)."""
    if isinstance(node, Const):
        return Const(not node.value)
    if isinstance(node, Present):
        return Absent(node.field)
    if isinstance(node, Absent):
        return Present(node.field)
    if isinstance(node, And):
        return any_of([negate(i) for i in node.items])
    if isinstance(node, Or):
        return all_of([negate(i) for i in node.items])
    missing: list[Node] = [Absent(node.field)]
    if node.ref:
        missing.append(Absent(node.ref))
    return any_of([Compare(node.field, _NEGATED[node.op], node.value, node.ref), *missing])


def _field(name: str, path: tuple[str | int, ...], subject: str = PROJECT_LINES) -> Any:
    spec = FIELDS.get(name)
    if spec is None or subject not in spec.subjects:
        known = ", ".join(sorted(n for n, f in FIELDS.items() if subject in f.subjects))
        raise ConditionError(path, f"unknown field {name!r} (known fields: {known})")
    return spec


def normalize(
    cond: Any,
    params: Mapping[str, Any],
    path: tuple[str | int, ...] = (),
    subject: str = PROJECT_LINES,
) -> Node:
    """Bind parameters, check fields and literal types, fold constants and push ``not`` down."""
    if isinstance(cond, AllOf):
        return all_of([normalize(c, params, (*path, "all", i), subject) for i, c in enumerate(cond.all)])
    if isinstance(cond, AnyOf):
        return any_of([normalize(c, params, (*path, "any", i), subject) for i, c in enumerate(cond.any)])
    if isinstance(cond, NotOf):
        return negate(normalize(cond.not_, params, (*path, "not"), subject))
    if isinstance(cond, PresentTest):
        _field(cond.present, (*path, "present"), subject)
        return Present(cond.present)
    if isinstance(cond, MissingTest):
        _field(cond.missing, (*path, "missing"), subject)
        return Absent(cond.missing)
    if isinstance(cond, ParamTest):
        if cond.param not in params:
            raise ConditionError((*path, "param"), f"unknown parameter {cond.param!r}")
        actual = params[cond.param]
        if cond.op is Op.in_:
            if not isinstance(cond.value, list):
                raise ConditionError((*path, "value"), "'in' needs a list of values")
            return Const(actual in cond.value)
        try:
            expected = type(actual)(cond.value) if isinstance(actual, Decimal) else cond.value
            return Const(bool(_PY_OPS[cond.op](actual, expected)))
        except (TypeError, ArithmeticError, ValueError) as error:
            raise ConditionError((*path, "value"), f"cannot compare parameter {cond.param}: {error}") from None
    if isinstance(cond, FieldTest):
        return _normalize_field_test(cond, params, path, subject)
    raise ConditionError(path, f"not a condition: {cond!r}")


def _normalize_field_test(
    cond: FieldTest, params: Mapping[str, Any], path: tuple[str | int, ...], subject: str = PROJECT_LINES
) -> Node:
    field = _field(cond.field, (*path, "field"), subject)
    if cond.ref is not None:
        other = _field(cond.ref, (*path, "ref"), subject)
        if other.type != field.type:
            raise ConditionError(
                (*path, "ref"), f"{cond.field} ({field.type}) and {cond.ref} ({other.type}) differ in type"
            )
        return Compare(cond.field, cond.op, None, cond.ref)
    if cond.param is not None:
        if cond.param not in params:
            raise ConditionError((*path, "param"), f"unknown parameter {cond.param!r}")
        raw = params[cond.param]
        where = (*path, "param")
    else:
        raw = cond.value
        where = (*path, "value")
    if cond.op is Op.in_:
        if cond.param is not None and isinstance(raw, list | tuple) and not raw:
            return FALSE  # a list parameter may be empty: nothing is in it
        if not isinstance(raw, list | tuple) or not raw:
            raise ConditionError(where, "'in' needs a non-empty list of values")
        try:
            values = [coerce_literal(field, v) for v in raw]
        except ValueError as error:
            raise ConditionError(where, str(error)) from None
        return any_of([Compare(cond.field, Op.eq, v) for v in values])
    try:
        value = coerce_literal(field, raw)
    except ValueError as error:
        raise ConditionError(where, str(error)) from None
    return Compare(cond.field, cond.op, value)


def evaluate(node: Node, facts: Mapping[str, Any]) -> bool:
    """The plain-Python meaning of a normalized condition (the reference semantics)."""
    if isinstance(node, Compare):
        left = facts.get(node.field)
        if left is None:
            return False
        if node.ref is not None:
            right = facts.get(node.ref)
            if right is None:
                return False
        else:
            right = node.value
        return bool(_PY_OPS[node.op](left, right))
    if isinstance(node, Present):
        return node.field in facts
    if isinstance(node, Absent):
        return node.field not in facts
    if isinstance(node, And):
        return all(evaluate(i, facts) for i in node.items)
    if isinstance(node, Or):
        return any(evaluate(i, facts) for i in node.items)
    return node.value


def fields_of(node: Node) -> list[str]:
    """The fact fields a condition reads, in first-use order."""
    seen: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Compare):
            seen[n.field] = None
            if n.ref:
                seen[n.ref] = None
        elif isinstance(n, Present | Absent):
            seen[n.field] = None
        elif isinstance(n, And | Or):
            for i in n.items:
                walk(i)

    walk(node)
    return list(seen)


def describe(node: Node) -> str:
    """A compact, readable rendering (for `validate`, diffs and error messages)."""
    if isinstance(node, Compare):
        right = node.ref if node.ref else repr(str(node.value) if isinstance(node.value, Decimal) else node.value)
        return f"{node.field} {node.op.value} {right}"
    if isinstance(node, Present):
        return f"{node.field} present"
    if isinstance(node, Absent):
        return f"{node.field} missing"
    if isinstance(node, And):
        return "(" + " and ".join(describe(i) for i in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " or ".join(describe(i) for i in node.items) + ")"
    return "true" if node.value else "false"
