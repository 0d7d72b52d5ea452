"""Allocation within the envelope: tier order, pro rata by largest remainder, ties by project_id."""

from __future__ import annotations

import random

from service.domain.allocation import Claim, fund_by_tier, pro_rata


def test_a_fitting_tier_is_funded_in_full_and_the_first_that_does_not_fit_shares_pro_rata():
    claims = [
        Claim(0, "A", 0, 300),
        Claim(1, "B", 1, 500),
        Claim(2, "C", 2, 400),
        Claim(3, "D", 2, 200),
        Claim(4, "E", 3, 50),
    ]
    shares, left = fund_by_tier(1100, claims)
    assert shares == {0: 300, 1: 500, 2: 200, 3: 100, 4: 0}
    assert left == 0


def test_leftover_fens_go_to_the_largest_remainders_then_to_the_smaller_project_id():
    # 1 fen shared by two equal claims: the tie goes to the smaller id, whatever the input order.
    assert pro_rata(100000001, [Claim(0, "S2", 1, 70000000), Claim(1, "S1", 1, 70000000)]) == {0: 50000000, 1: 50000001}
    # 2 fens for claims 1 and 2: floors 0 and 1, remainders 2/3 and 1/3: the last fen goes to A
    assert pro_rata(2, [Claim(0, "B", 0, 2), Claim(1, "A", 0, 1)]) == {0: 1, 1: 1}
    assert pro_rata(2, [Claim(0, "A", 0, 2), Claim(1, "B", 0, 1)]) == {0: 1, 1: 1}


def test_ties_use_code_point_order_not_locale_order():
    claims = [Claim(0, "b", 0, 1), Claim(1, "B", 0, 1), Claim(2, "甲", 0, 1)]
    assert pro_rata(1, claims) == {0: 0, 1: 1, 2: 0}  # "B" < "b" < "甲" by code point


def test_shares_always_add_up_exactly_and_never_exceed_a_claim():
    rng = random.Random(7)
    for _ in range(500):
        claims = [
            Claim(i, f"P{rng.randrange(10**6)}-{i}", rng.randrange(4), rng.randrange(1, 10**9))
            for i in range(rng.randrange(1, 30))
        ]
        available = rng.randrange(0, sum(c.amount for c in claims) * 2)
        shares, left = fund_by_tier(available, claims)
        assert sum(shares.values()) + left == available
        assert all(0 <= shares[c.line] <= c.amount for c in claims)
        if left > 0:
            assert all(shares[c.line] == c.amount for c in claims)
