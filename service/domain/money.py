"""Money (元, to the fen) and scores: exact decimals, never floats.

Every amount in the domain is a ``Decimal`` quantized to 0.01. Rounding is half up, as POLICIES.md
requires (``round(x)`` is to 0.01 元, half up). Amounts are also carried as whole fens (``int``)
where exact integer arithmetic is simpler, e.g. in the largest-remainder allocation.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

# Amounts reach 10^12 元 and rates/scores carry a few decimals: 60 digits never round silently.
EXACT = Context(prec=60)


# The arithmetic below passes EXACT to each operation instead of entering ``localcontext(EXACT)``: the same
# results, at a sixth of the cost (a context switch costs more than the operation; these run per line).


def round_fen(value: Decimal) -> Decimal:
    """Round to 0.01 元, half up (四舍五入到分)."""
    return value.quantize(FEN, ROUND_HALF_UP, EXACT)


def floor_fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, ROUND_FLOOR, EXACT)


def mul(*factors: Decimal) -> Decimal:
    """Exact product (no rounding) of decimals."""
    out = Decimal(1)
    for f in factors:
        out = EXACT.multiply(out, f)
    return out


def to_fen(amount: Decimal) -> int:
    return int(amount.scaleb(2))


def from_fen(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2).quantize(FEN)


def fen_text(fen: int) -> str:
    """``money_text(from_fen(fen))`` without the Decimal: whole fens as a string with two decimals."""
    units, fens = divmod(-fen if fen < 0 else fen, 100)
    return f"{'-' if fen < 0 else ''}{units}.{fens:02d}"


def fen_utf8(fen: int) -> bytes:
    """``fen_text(fen).encode()``, made as bytes (the streamed result's second pass writes three a line)."""
    if fen == 0:
        return b"0.00"
    if fen > 0:
        return b"%d.%02d" % divmod(fen, 100)
    return b"-%d.%02d" % divmod(-fen, 100)


def money_text(amount: Decimal) -> str:
    """The JSON form of money: a string with exactly two decimals."""
    return f"{amount.quantize(FEN):f}"


def decimal_text(value: Decimal) -> str:
    """A score or rate as plain text, without exponent and without trailing zeros."""
    text = f"{value.normalize():f}"
    return text


_PLAIN_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def plain_decimal(text: str) -> Decimal | None:
    """The exact value of plain decimal text (ASCII digits, one optional point, optional minus), else ``None``.

    Thousands separators ("5,00" is 500 in one country and 5 in another), underscores ("1_0"),
    exponents, full-width (５) and Arabic-Indic (٥) digits are all refused: Python's ``Decimal``
    would accept several of them silently.
    """
    stripped = text.strip()
    if not _PLAIN_DECIMAL_TEXT.fullmatch(stripped):
        return None
    return Decimal(stripped)
