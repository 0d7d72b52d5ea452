"""Sharing the envelope (县级财力可安排数) and the reclaimed pool among lines, exact to the fen.

Tiers are funded in ascending order; the first tier that does not fit shares what is left pro rata
to its amounts by the largest-remainder method, and later tiers get nothing. The pool then funds the
shortfalls of urgent lines the same way. All arithmetic is on whole fens (int), so shares always add
up to exactly what was shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Claim(NamedTuple):
    """A candidate line's claim: its position, id (for tie-breaks), tier and amount in fens (a tuple: one is
    made per line of a request, and a frozen dataclass costs three times as much to make)."""

    line: int  # the line's position in the request
    project_id: str
    tier: int
    amount: int


def pro_rata(available: int, claims: Sequence[Claim]) -> dict[int, int]:
    """Share ``available`` fens pro rata to the claims (largest remainder, ties by project_id)."""
    total = sum(c.amount for c in claims)
    if total <= available:
        return {c.line: c.amount for c in claims}
    shares: dict[int, int] = {}
    remainders: list[tuple[int, str, int]] = []
    given = 0
    for c in claims:
        share, remainder = divmod(available * c.amount, total)
        shares[c.line] = share
        given += share
        remainders.append((-remainder, c.project_id, c.line))
    remainders.sort()
    for _, _, index in remainders[: available - given]:
        shares[index] += 1
    return shares


def fund_by_tier(available: int, claims: Sequence[Claim]) -> tuple[dict[int, int], int]:
    """Fund tiers in order until the money runs out; returns the shares and what is left."""
    by_tier: dict[int, list[Claim]] = {}
    for c in claims:
        by_tier.setdefault(c.tier, []).append(c)
    shares: dict[int, int] = {}
    left = available
    for tier in sorted(by_tier):
        group = by_tier[tier]
        if left <= 0:
            shares.update({c.line: 0 for c in group})
            continue
        got = pro_rata(left, group)
        shares.update(got)
        left -= sum(got.values())
    return shares, left
