"""Exact integer money arithmetic on columns of whole fens (分), with Python-int fallback.

Every amount is an ``int64`` count of fens. Rounding half up of a non-negative rational a·n/d is done
in integers, ``(2·a·n + d) // (2·d)``, never in floating point. Where the intermediate product could
exceed int64 (amounts near 10^12 元 times a score with six decimals), those lines are computed with
Python integers instead (an ``object`` array), so the result is exact whatever the magnitude.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

Fens = npt.NDArray[np.int64]
SAFE = 2**62  # products are kept below this in int64 (2^63 − 1 is the hard limit)


def as_fraction(value: Decimal | int) -> Fraction:
    """The exact rational value of a decimal literal (no binary rounding)."""
    return Fraction(value)


def round_half_up(a: Fens, num: int | npt.NDArray[Any], den: int) -> Fens:
    """round(a × num / den) to a whole fen, half up, for a ≥ 0 and num ≥ 0, den > 0 (exact).

    ``num`` is one integer or one per line (an ``object`` array of Python ints when they are huge).
    The result must fit in int64 (it does for cuts, shares and scaling of amounts).
    """
    a = np.asarray(a, dtype=np.int64)
    if a.size == 0:
        return a.copy()
    huge = (
        den >= SAFE or (isinstance(num, int) and num >= SAFE) or (isinstance(num, np.ndarray) and num.dtype == object)
    )
    if huge:
        nums = np.broadcast_to(np.asarray(num, dtype=object), a.shape)
        return _python_round(a.tolist(), nums.tolist(), den)
    num_arr = np.broadcast_to(np.asarray(num, dtype=np.int64), a.shape)
    # A float estimate with a wide margin decides which lines are safe in int64.
    estimate = a.astype(np.float64) * num_arr.astype(np.float64) * 2.0 + float(den)
    safe = estimate < float(SAFE) / 4
    if safe.all():
        result: Fens = (2 * a * num_arr + den) // (2 * den)
        return result
    out = np.empty_like(a)
    out[safe] = (2 * a[safe] * num_arr[safe] + den) // (2 * den)
    big = ~safe
    out[big] = _python_round(a[big].tolist(), num_arr[big].tolist(), den)
    return out


def _python_round(amounts: list[int], nums: list[int], den: int) -> Fens:
    return np.array([(2 * x * y + den) // (2 * den) for x, y in zip(amounts, nums, strict=True)], dtype=np.int64)


def exact_sum(values: Fens) -> int:
    """The exact sum of fens (Python int), without int64 overflow."""
    if values.size == 0:
        return 0
    peak = int(np.abs(values).max())
    if peak * values.size < SAFE:
        return int(values.sum())
    return sum(int(v) for v in values.tolist())


def group_sums(values: Fens, groups: npt.NDArray[np.intp], n_groups: int) -> list[int]:
    """Exact per-group sums (e.g. per department), as Python ints."""
    if values.size == 0:
        return [0] * n_groups
    peak = int(np.abs(values).max())
    if peak * values.size < SAFE:
        out = np.zeros(n_groups, dtype=np.int64)
        np.add.at(out, groups, values)
        return [int(v) for v in out]
    sums = [0] * n_groups
    for g, v in zip(groups.tolist(), values.tolist(), strict=True):
        sums[g] += v
    return sums
