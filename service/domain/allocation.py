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
    """Fund tiers in order until the money runs out; returns the shares (by line) and what is left."""
    if not claims:
        return {}, available
    lines, project_ids, tiers, amounts = zip(*claims, strict=True)
    shares, left = fund_tiers(available, tiers, amounts, project_ids)
    return dict(zip(lines, shares, strict=True)), left


def fund_tiers(
    available: int, tiers: Sequence[int], amounts: Sequence[int], project_ids: Sequence[str]
) -> tuple[list[int], int]:
    """:func:`fund_by_tier` on columns (one entry a claim): the shares in the claims' order, and what is left.

    Tiers that fit are funded whole, the first that does not is shared pro rata (:func:`pro_rata`), later ones
    get nothing; so only that one tier's claims are looked at one by one (a request's lines took 1 µs each)."""
    totals: dict[int, int] = {}
    for tier, amount in zip(tiers, amounts, strict=True):
        totals[tier] = totals.get(tier, 0) + amount
    left = available
    funded: set[int] = set()
    shared = None
    for tier in sorted(totals):
        if left <= 0:
            break
        if totals[tier] <= left:
            funded.add(tier)
            left -= totals[tier]
        else:
            shared = tier
            break
    shares = [amount if tier in funded else 0 for tier, amount in zip(tiers, amounts, strict=True)]
    if shared is not None:
        members = [Claim(k, project_ids[k], tier, amounts[k]) for k, tier in enumerate(tiers) if tier == shared]
        for k, share in pro_rata(left, members).items():
            shares[k] = share
            left -= share
    return shares, left
