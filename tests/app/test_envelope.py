"""The envelope a person types: its unit, and the wrong-unit warning the CLI and the pages share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.app.envelope import envelope_unit_warning, parse_envelope
from service.app.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "unit", "yuan"),
    [
        ("600", "万元", Decimal("6000000.00")),
        ("600万元", "元", Decimal("6000000.00")),
        ("600万", "元", Decimal("6000000.00")),
        ("6000000元", "万元", Decimal("6000000.00")),
        ("0.000001", "万元", Decimal("0.01")),
        ("1234.56", "元", Decimal("1234.56")),
    ],
)
def test_parse_envelope_in_either_unit(typed: str, unit: str, yuan: Decimal) -> None:
    assert parse_envelope(typed, unit) == yuan


@pytest.mark.parametrize(
    ("typed", "unit"),
    [("1,000", "元"), ("1_0", "元"), ("５", "元"), ("0.0000001", "万元"), ("1.001", "元"), ("-1", "元"), ("1", "斤")],
)
def test_parse_envelope_refuses_what_is_not_plain(typed: str, unit: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_envelope(typed, unit)
    assert info.value.problems[0].loc == ("envelope",)


def test_wrong_unit_warning_below_one_percent_only() -> None:
    total = Decimal("230854871.20")
    assert envelope_unit_warning(Decimal("20781.03"), total) is not None  # 万元 typed as 元
    message = envelope_unit_warning(Decimal("20781.03"), total)
    assert message is not None and "是否把万元当成了元" in message
    assert envelope_unit_warning(Decimal("2308548.72"), total) is None  # exactly 1%
    assert envelope_unit_warning(Decimal("207810300.00"), total) is None
    assert envelope_unit_warning(None, total) is None
    assert envelope_unit_warning(Decimal("0"), Decimal("0")) is None
