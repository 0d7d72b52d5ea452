"""The result page's totals add up to the result they summarize (a real recommendation of the demo county)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from service.web import result_totals
from service.web.i18n import term

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    cli = Path(sys.executable).parent / "budget-rules"
    done = subprocess.run(
        [str(cli), "recommend", str(REPO / "demo" / "wuding-county-2021.json"), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_totals_by_department_and_tier_add_up(result: dict[str, Any]) -> None:
    totals = result_totals.of(result)
    lines = result["lines"]
    assert totals.requested == sum(Decimal(x["requested"]) for x in lines)
    assert sum(d.requested for d in totals.departments) == totals.requested
    assert sum(d.recommended for d in totals.departments) == totals.recommended
    assert sum(b.count for b in totals.tiers) == len(lines)
    assert sum(b.recommended for b in totals.tiers) == totals.recommended
    assert totals.rate == ((totals.recommended - totals.requested) * 100 / totals.requested).quantize(Decimal("0.01"))
    first = totals.departments[0]
    assert first.name and first.rate == (first.change * 100 / first.requested).quantize(Decimal("0.01"))


def test_totals_by_action_match_the_statuses_and_the_summary(result: dict[str, Any]) -> None:
    totals = result_totals.of(result)
    by = {a.key: a for a in totals.actions}
    counts = result["summary"]["counts"]
    assert by["cancel"].count == counts["cancelled"] and by["exclude"].count == counts["excluded"]
    assert by["reclaim"].amount == Decimal(result["summary"]["totals"]["reclaimed"])
    assert by["cut"].count > 0 and by["cut"].amount > 0
    assert [term("action", a.key) for a in totals.actions] == ["压减", "取消", "不予纳入", "收回统筹", "优先保障"]
    assert totals.reserve_envelope == Decimal(result["summary"]["totals"]["reserve_envelope"])
