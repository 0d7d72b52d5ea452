"""The envelope a person types (财力可安排数): its unit (元/万元), and a check for a likely wrong unit.

A figure typed in 万元 into a 元 field is 10,000 times too small and would silently starve every
line. :func:`envelope_unit_warning` says so when the envelope is under 1% of the requested total;
the CLI refuses unless ``--yes`` is given, and the pages ask for confirmation with the same words.
"""

from __future__ import annotations

from decimal import Decimal

from service.app.errors import InvalidInput, Problem
from service.domain.money import plain_decimal

YUAN = "元"
WAN_YUAN = "万元"
ENVELOPE_UNITS = (YUAN, WAN_YUAN)
SUSPICIOUS_SHARE = Decimal("0.01")
"""An envelope under this share of the requested total asks for confirmation."""


def parse_envelope(text: str, unit: str = YUAN) -> Decimal:
    """The envelope in 元 from what a person typed: plain decimal text in ``unit``, or ending in 元/万元.

    ``"600万元"``, ``"600万"`` and ``("600", "万元")`` all give 6000000.00; ``"6000000元"`` gives the same.
    Raises :class:`InvalidInput` naming the field ``envelope``.
    """
    typed = text.strip()
    for suffix, suffix_unit in (("万元", WAN_YUAN), ("万", WAN_YUAN), ("元", YUAN)):
        if typed.endswith(suffix):
            typed, unit = typed[: -len(suffix)].strip(), suffix_unit
            break
    if unit not in ENVELOPE_UNITS:
        raise InvalidInput([Problem(("envelope",), f"unit must be 元 or 万元, not {unit!r}")])
    number = plain_decimal(typed)
    if number is None:
        raise InvalidInput(
            [Problem(("envelope",), f"{text!r} is not a plain decimal amount (e.g. 600 万元 or 6000000 元)")]
        )
    if number < 0:
        raise InvalidInput([Problem(("envelope",), "must not be below 0")])
    decimals = -int(number.as_tuple().exponent) if number.as_tuple().exponent != 0 else 0
    limit = 6 if unit == WAN_YUAN else 2
    if decimals > limit:
        raise InvalidInput([Problem(("envelope",), f"has more than {limit} decimals in {unit}")])
    amount = number * 10000 if unit == WAN_YUAN else number
    return amount.quantize(Decimal("0.01"))


def envelope_unit_warning(envelope: Decimal | None, requested_total: Decimal) -> str | None:
    """A message asking to confirm an envelope under 1% of the requested total, else ``None``."""
    if envelope is None or requested_total <= 0:
        return None
    if envelope >= requested_total * SUSPICIOUS_SHARE:
        return None
    share = (envelope / requested_total * 100).quantize(Decimal("0.001"))
    return (
        f"财力可安排数 {envelope:,.2f}元 只占申报数合计 {requested_total:,.2f}元 的 {share}%："
        f"是否把万元当成了元？如确认无误请加 --yes（网页上请确认）。"
        f" The envelope {envelope:,.2f} is under 1% of the requested total {requested_total:,.2f}:"
        " was it typed in 万元 instead of 元? Confirm with --yes."
    )
