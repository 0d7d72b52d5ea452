"""Cross-line rules (e.g. overlap-review) over columns: which lines a group rule flags.

Mirrors ``Fold._group_flags``: lines matching the rule's ``where`` with every ``same`` field present
form buckets of equal ``same`` values. ``groups``: every member of a bucket of at least ``min_size``
lines is flagged. ``pairs``: a member is flagged when another member differs from it in every
``differ`` field (a missing value equals only another missing value, as ``None != None`` is false).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.domain.ruleset import CompiledGroupRule
from service.simulation.columns import Bools, Columns
from service.simulation.masks import mask


@dataclass(frozen=True, slots=True)
class GroupMembership:
    """The buckets of one group rule: ``bucket[i]`` (−1 outside every bucket) and the flagged lines."""

    rule_key: str
    bucket: npt.NDArray[np.int64]
    flagged: Bools


def value_codes(columns: Columns, name: str) -> npt.NDArray[np.int64]:
    """Codes equal exactly where the facts are equal, −1 (and only −1) where the fact is missing."""
    column = columns.column(name)
    if column.categorical:
        return column.values
    _, codes = np.unique(column.values, return_inverse=True)
    return np.where(column.present, codes.astype(np.int64), -1)


def membership(rule: CompiledGroupRule, columns: Columns) -> GroupMembership:
    n = columns.size
    selected = mask(rule.where, columns)
    for name in rule.same:
        selected &= columns.column(name).present
    bucket = np.full(n, -1, dtype=np.int64)
    flagged = np.zeros(n, dtype=np.bool_)
    index = np.flatnonzero(selected)
    if index.size == 0:
        return GroupMembership(rule.key, bucket, flagged)
    keys = np.stack([value_codes(columns, f)[index] for f in rule.same], axis=1)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    bucket[index] = inverse
    sizes = np.bincount(inverse)
    if rule.match == "groups":
        flagged[index] = sizes[inverse] >= rule.min_size
    elif not rule.differ:
        flagged[index] = sizes[inverse] >= 2
    elif len(rule.differ) == 1:
        values = value_codes(columns, rule.differ[0])[index]
        pairs = np.unique(np.stack([inverse, values], axis=1), axis=0)
        distinct = np.bincount(pairs[:, 0], minlength=sizes.size)
        flagged[index] = distinct[inverse] >= 2
    else:
        flagged[index] = _pairs_any_differ(rule, columns, index, inverse)
    return GroupMembership(rule.key, bucket, flagged)


def _pairs_any_differ(
    rule: CompiledGroupRule, columns: Columns, index: npt.NDArray[np.intp], inverse: npt.NDArray[np.int64]
) -> Bools:
    """Several ``differ`` fields: a member needs one other member differing in all of them (plain loop)."""
    values = np.stack([value_codes(columns, f)[index] for f in rule.differ], axis=1)
    out = np.zeros(index.size, dtype=np.bool_)
    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.r_[True, inverse[order][1:] != inverse[order][:-1]])
    for lo, hi in zip(starts, [*starts[1:], order.size], strict=True):
        members = order[lo:hi]
        block = values[members]
        for k, i in enumerate(members):
            out[i] = bool(np.any(np.all(block != block[k], axis=1)))
    return out
