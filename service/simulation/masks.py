"""Normalized policy conditions (``service.domain.conditions.Node``) as boolean masks over columns.

The meaning is exactly ``conditions.evaluate``: a comparison holds only where every field it reads is
present. Numbers are compared as integers in exact units; a literal that is not a whole number of
units (e.g. 0.001 元) is compared through its floor or ceiling, which is exact for integer columns.
Text and boolean comparisons are decided once per vocabulary entry and looked up by code.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from service.domain.conditions import OPERATORS, Absent, And, Compare, Const, Node, Op, Or, Present
from service.simulation.columns import Bools, Column, Columns


def mask(node: Node, columns: Columns) -> Bools:
    """Where ``node`` holds, line by line."""
    n = columns.size
    if isinstance(node, Const):
        return np.full(n, node.value, dtype=np.bool_)
    if isinstance(node, Present):
        return columns.column(node.field).present.copy()
    if isinstance(node, Absent):
        return ~columns.column(node.field).present
    if isinstance(node, And):
        out = np.ones(n, dtype=np.bool_)
        for item in node.items:
            out &= mask(item, columns)
        return out
    if isinstance(node, Or):
        out = np.zeros(n, dtype=np.bool_)
        for item in node.items:
            out |= mask(item, columns)
        return out
    return _compare(node, columns)


def _compare(node: Compare, columns: Columns) -> Bools:
    left = columns.column(node.field)
    if node.ref is not None:
        return _compare_fields(node.op, left, columns.column(node.ref))
    if left.categorical:
        return _compare_category(node.op, left, node.value)
    return left.present & _compare_number(node.op, left, Fraction(node.value) * left.scale)


def _compare_number(op: Op, column: Column, threshold: Fraction) -> Bools:
    v = column.values
    if op is Op.lt:
        return v < math.ceil(threshold)
    if op is Op.gte:
        return v >= math.ceil(threshold)
    if op is Op.lte:
        return v <= math.floor(threshold)
    if op is Op.gt:
        return v > math.floor(threshold)
    whole = threshold.denominator == 1
    if op is Op.eq:
        return v == int(threshold) if whole else np.zeros(v.shape, dtype=np.bool_)
    return v != int(threshold) if whole else np.ones(v.shape, dtype=np.bool_)


def _compare_category(op: Op, column: Column, value: Any) -> Bools:
    assert column.vocab is not None
    table = np.array([bool(OPERATORS[op](entry, value)) for entry in column.vocab] + [False], dtype=np.bool_)
    return table[column.values]  # code −1 (missing) picks the trailing False


def _compare_fields(op: Op, left: Column, right: Column) -> Bools:
    both = left.present & right.present
    if not left.categorical and not right.categorical and left.scale == right.scale:
        return both & OPERATORS[op](left.values, right.values)
    # Text against text: compare the decoded values (rare in policies, so plain Python is fine).
    lv, rv = left.vocab or (), right.vocab or ()
    out = np.zeros(left.values.shape, dtype=np.bool_)
    for i in np.flatnonzero(both):
        out[i] = bool(OPERATORS[op](lv[left.values[i]], rv[right.values[i]]))
    return out
