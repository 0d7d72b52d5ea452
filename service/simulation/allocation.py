"""``service.domain.allocation.fund_by_tier`` on columns: tiers in order, pro rata by largest remainder.

Identical to the domain function to the fen: the first tier that does not fit shares what is left
pro rata (each share rounded down, the fens left over going one each to the largest remainders,
ties by project_id in code-point order, i.e. by ``id_rank``), later tiers get nothing. Products that
could overflow int64 are done in Python integers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from service.simulation.columns import Ints
from service.simulation.fenmath import SAFE, exact_sum


def fund_by_tier(available: int, tiers: Ints, amounts: Ints, id_rank: Ints) -> tuple[Ints, int]:
    """Shares (fens, aligned with ``amounts``) and what is left of ``available``."""
    shares = np.zeros(amounts.size, dtype=np.int64)
    left = available
    for tier in np.unique(tiers):
        members = np.flatnonzero(tiers == tier)
        if left <= 0:
            continue
        group = amounts[members]
        total = exact_sum(group)
        if total <= left:
            shares[members] = group
            left -= total
            continue
        shares[members] = _pro_rata(left, group, total, id_rank[members])
        left = 0  # the whole of what was left is shared, to the fen
    return shares, left


def _pro_rata(available: int, amounts: Ints, total: int, id_rank: Ints) -> Ints:
    peak = int(amounts.max()) if amounts.size else 0
    if available * peak < SAFE and total < SAFE:
        product = amounts * available
        share, remainder = np.divmod(product, total)
        order = np.lexsort((id_rank, -remainder))
    else:
        pairs = [divmod(available * int(a), total) for a in amounts.tolist()]
        share = np.array([s for s, _ in pairs], dtype=np.int64)
        remainders = [r for _, r in pairs]
        order = np.array(sorted(range(amounts.size), key=lambda k: (-remainders[k], int(id_rank[k]))), dtype=np.intp)
    extra = available - exact_sum(share)
    share[order[:extra]] += 1
    return share


def allocate(
    envelope: int | None,
    candidate: npt.NDArray[np.bool_],
    tier: Ints,
    amount: Ints,
    urgent: npt.NDArray[np.bool_],
    pool: int,
    id_rank: Ints,
) -> tuple[Ints, Ints, int, int]:
    """From the envelope, then the pool for urgent shortfalls: (from_envelope, from_pool, reserves)."""
    n = amount.size
    from_envelope = np.zeros(n, dtype=np.int64)
    from_pool = np.zeros(n, dtype=np.int64)
    if envelope is None:
        return from_envelope, from_pool, 0, pool
    index = np.flatnonzero(candidate)
    tiers = np.where(tier[index] < 0, 0, tier[index]).astype(np.int64)
    shares, env_left = fund_by_tier(envelope, tiers, amount[index], id_rank[index])
    from_envelope[index] = shares
    short = urgent[index] & (amount[index] > shares)
    needy = index[short]
    pool_shares, pool_left = fund_by_tier(pool, tiers[short], amount[needy] - shares[short], id_rank[needy])
    from_pool[needy] = pool_shares
    return from_envelope, from_pool, env_left, pool_left
