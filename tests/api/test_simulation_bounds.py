"""Every size a simulation request controls is counted before anything is built (issue 10, point 2)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import bearer

BASE: dict[str, Any] = {
    "id": "bounds",
    "title": {"zh": "边界", "en": "bounds"},
    "dataset": {"generate": {"projects": 10, "seed": 1}},
    "ruleset": "wuding-county",
}
GATE = "target-review-gate.min_score"


def _refused(client: TestClient, token: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    started = time.monotonic()
    response = client.post("/v1/simulations", json=body, headers=bearer(token))
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.text[:500]
    details: list[dict[str, Any]] = response.json()["error"]["details"]
    return details, elapsed


def test_a_trillion_point_axis_is_refused_at_once(client: TestClient, tokens: dict[str, str]) -> None:
    body = {**BASE, "sweeps": [{"name": "huge", "axes": [{"parameter": GATE, "from": 0, "to": 10**12, "step": 1}]}]}
    details, elapsed = _refused(client, tokens["analyst"], body)
    assert any("1,000,000,000,001 points" in d["message"] for d in details), details
    assert elapsed < 1.0  # before: a list of 10^12 Decimals was built (MemoryError after 27 s, then a 500)


def test_two_axes_whose_product_is_too_large_are_refused(client: TestClient, tokens: dict[str, str]) -> None:
    axes = [
        {"parameter": GATE, "from": 0, "to": 1999, "step": 1},
        {"parameter": "envelope.percent", "from": 0, "to": 1999, "step": 1},
    ]
    details, elapsed = _refused(client, tokens["analyst"], {**BASE, "sweeps": [{"name": "wide", "axes": axes}]})
    assert any("4,000,000 points" in d["message"] for d in details), details
    assert elapsed < 1.0


def test_variants_and_sweeps_together_are_bounded(client: TestClient, tokens: dict[str, str]) -> None:
    sweeps = [{"name": f"s{i}", "axes": [{"parameter": GATE, "from": 0, "to": 9999, "step": 1}]} for i in range(3)]
    details, _ = _refused(client, tokens["analyst"], {**BASE, "sweeps": sweeps})
    assert any("30,001 evaluations" in d["message"] for d in details), details


def test_problems_collected_are_capped(client: TestClient, tokens: dict[str, str]) -> None:
    from service.app.simulations import MAX_PROBLEMS

    variants = [{"name": "X", "disable": ["Y"]} for _ in range(1000)]  # every name breaks the pattern
    details, _ = _refused(client, tokens["analyst"], {**BASE, "variants": variants})
    assert len(details) == MAX_PROBLEMS + 1
    assert "more problem(s) not listed" in details[-1]["message"]
