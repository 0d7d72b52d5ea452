"""Exact half-up rounding and sums on fens, including where int64 would overflow."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest

from service.simulation.fenmath import exact_sum, group_sums, round_half_up


def _reference(a: int, num: int, den: int) -> int:
    x = Fraction(a * num, den)
    return int(x + Fraction(1, 2)) if x >= 0 else 0  # floor(x + 1/2) for x ≥ 0: half up


@pytest.mark.parametrize("seed", range(10))
def test_round_half_up_matches_fractions(seed: int) -> None:
    rng = random.Random(seed)
    amounts = [
        rng.choice([0, 1, 5, 15, 25, 10**14, 999_999_999_999_999]) if rng.random() < 0.3 else rng.randint(0, 10**15)
        for _ in range(300)
    ]
    num, den = rng.choice([(1, 10), (9, 10), (333333, 1000000), (123456789012345, 10**15), (1, 2)])
    got = round_half_up(np.array(amounts, dtype=np.int64), num, den)
    assert [int(g) for g in got] == [_reference(a, num, den) for a in amounts]
    per_line = [rng.randint(0, 10**8) for _ in amounts]
    got = round_half_up(np.array(amounts, dtype=np.int64), np.array(per_line, dtype=np.int64), 10**9)
    assert [int(g) for g in got] == [_reference(a, n, 10**9) for a, n in zip(amounts, per_line, strict=True)]
    huge = np.array(per_line, dtype=object) * 10**12
    got = round_half_up(np.array(amounts, dtype=np.int64), huge, 10**21)
    assert [int(g) for g in got] == [_reference(a, n * 10**12, 10**21) for a, n in zip(amounts, per_line, strict=True)]


def test_sums_do_not_overflow() -> None:
    values = np.full(100_000, 10**15 - 1, dtype=np.int64)
    assert exact_sum(values) == 100_000 * (10**15 - 1)
    groups = np.arange(100_000, dtype=np.intp) % 3
    sums = group_sums(values, groups, 3)
    assert sum(sums) == 100_000 * (10**15 - 1)
    assert sums[0] == 33_334 * (10**15 - 1)
