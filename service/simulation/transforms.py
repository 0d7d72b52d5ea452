"""Record transforms and envelope changes of a variant, on columns and on records alike.

The same change is defined twice on purpose: on columns (what the vectorized path evaluates) and on
records (what the domain path replays for verification and explanations). The replay comparison in
``replay.verify_sample`` would fail loudly if the two ever disagreed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import numpy as np

from service.domain.errors import BudgetRulesError
from service.domain.money import HUNDRED, mul, round_fen
from service.domain.records import Department, Project
from service.simulation.columns import SCORE_SCALE, Column, Columns
from service.simulation.fenmath import round_half_up
from service.simulation.scenario import EnvelopeChange, ScaleMoney, ShiftScore, Transform

_PROJECT_SCORES = {"target_review_score", "evaluation_score"}


class ScenarioError(BudgetRulesError):
    """A scenario that cannot run on its dataset (e.g. an envelope change without an envelope)."""

    code = "invalid_scenario"


def transform_columns(columns: Columns, transforms: Sequence[Transform]) -> Columns:
    """The columns after the record transforms, in order."""
    for t in transforms:
        if isinstance(t, ShiftScore):
            column = columns.column(t.shift_score)
            shift = int(t.by * SCORE_SCALE)
            values = np.clip(column.values + shift, 0, 100 * SCORE_SCALE)
            values = np.where(column.present, values, 0)
            columns = columns.with_fields({t.shift_score: Column(values, column.present, column.scale)})
        else:
            column = columns.column(t.scale_money)
            factor = Fraction(t.factor)
            values = round_half_up(column.values, factor.numerator, factor.denominator)
            columns = columns.with_fields({t.scale_money: Column(values, column.present, column.scale)})
    return columns


def _shift(score: Decimal | None, by: Decimal) -> Decimal | None:
    if score is None:
        return None
    return min(max(score + by, Decimal(0)), HUNDRED)


def transform_project(project: Project, transforms: Sequence[Transform]) -> Project:
    """One line after the record transforms (field-level, as on columns)."""
    update: dict[str, object] = {}
    for t in transforms:
        if isinstance(t, ShiftScore) and t.shift_score in _PROJECT_SCORES:
            update[t.shift_score] = _shift(update.get(t.shift_score, getattr(project, t.shift_score)), t.by)  # type: ignore[arg-type]
        elif isinstance(t, ScaleMoney):
            value = update.get(t.scale_money, getattr(project, t.scale_money))
            update[t.scale_money] = None if value is None else round_fen(mul(value, t.factor))  # type: ignore[arg-type]
    return project.model_copy(update=update) if update else project


def transform_department(department: Department, transforms: Sequence[Transform]) -> Department:
    score = department.overall_score
    for t in transforms:
        if isinstance(t, ShiftScore) and t.shift_score == "department.overall_score":
            score = _shift(score, t.by)
    return department.model_copy(update={"overall_score": score}) if score != department.overall_score else department


def resolve_envelope(envelope: int | None, change: EnvelopeChange | None) -> int | None:
    """The envelope in fens after a change (never below zero); percent changes round half up."""
    if change is None:
        return envelope
    if change.amount is not None:
        return int(change.amount.scaleb(2))
    if envelope is None:
        raise ScenarioError("the dataset has no envelope to change (give an amount instead)")
    if change.delta is not None:
        return max(0, envelope + int(change.delta.scaleb(2)))
    assert change.percent is not None
    rate = Fraction(change.percent + HUNDRED) / 100
    if rate <= 0:
        return 0
    return int(round_half_up(np.array([envelope], dtype=np.int64), rate.numerator, rate.denominator)[0])


def describe_transform(t: Transform) -> str:
    if isinstance(t, ShiftScore):
        return f"{t.shift_score} {'+' if t.by >= 0 else '−'}{abs(t.by).normalize():f} (clamped to 0–100)"
    assert isinstance(t, ScaleMoney)
    return f"{t.scale_money} ×{t.factor.normalize():f} (half up to the fen)"
