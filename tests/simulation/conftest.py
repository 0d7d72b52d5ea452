"""Shared helpers of the simulation tests: a seeded generator of boundary-heavy random requests."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

BOUNDARY_SCORES = ["0", "59.99", "60", "64.99", "65", "79.99", "80", "89.99", "90", "100", "59.999999", "60.000001"]
EDGE_AMOUNTS = ["0.00", "0.01", "0.05", "0.15", "99999.99", "100000.00", "1000000000000.00", "9999999999999.99"]
PURPOSES = ["2130314", "2080299", "2010101", None]
BENEFICIARIES = ["农村居民", "学生", "老人", None]
KINDS = ["project"] * 7 + ["public_operating"] * 2 + ["three_public"] * 2
PROTECTIONS = ["basic_livelihood", "wages", "operations", "statutory", "matching"]


def _score(rng: random.Random, tiny: bool) -> str | None:
    roll = rng.random()
    if roll < 0.12:
        return None
    if roll < 0.6:
        return rng.choice(BOUNDARY_SCORES)
    if roll < 0.85:
        return str(Decimal(rng.randint(0, 10000)) / 100)
    value = Decimal(rng.randint(0 if tiny else 100, 100_000_000)) / 1_000_000
    return str(value)


def _amount(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(EDGE_AMOUNTS)
    if roll < 0.5:
        return str(Decimal(rng.randint(0, 20_000)) / 100)
    if roll < 0.97:
        return str(Decimal(rng.randint(0, 1_000_000_000)) / 100)
    return str(Decimal(rng.randint(0, 100_000_000_000_000)) / 100)


def random_request(seed: int, n: int, *, envelope: str | None = "auto", tiny_scores: bool = False) -> dict[str, Any]:
    """A raw request of ``n`` lines with boundary scores, missing fields, zero/one-fen/huge amounts."""
    rng = random.Random(seed)
    protect_rng = random.Random(f"protection-{seed}")  # its own stream: the other fields stay as they were
    n_dept = max(2, n // 25)
    departments = [
        {
            "department_id": f"D{d:03d}",
            "name": f"部门{d}",
            "kind": rng.choice(["department", "township"]),
            **({"overall_score": _score(rng, tiny_scores)} if rng.random() < 0.85 else {}),
        }
        for d in range(n_dept)
    ]
    projects = []
    for i in range(n):
        line: dict[str, Any] = {
            "project_id": f"P{rng.randint(0, 10**6):07d}-{i}",
            "department_id": f"D{rng.randrange(n_dept):03d}",
            "name": f"项目{i}",
            "kind": rng.choice(KINDS),
            "requested": _amount(rng),
            "urgent": rng.random() < 0.3,
        }
        for key in ("target_review_score", "evaluation_score"):
            score = _score(rng, tiny_scores)
            if score is not None:
                line[key] = score
        if rng.random() < 0.6:
            line["prior_year_budget"] = _amount(rng)
        if rng.random() < 0.5:
            line["idle_balance"] = _amount(rng)
            line["idle_since_year"] = rng.choice([2015, 2018, 2019, 2020, 2021])
        purpose, beneficiary = rng.choice(PURPOSES), rng.choice(BENEFICIARIES)
        if purpose:
            line["purpose_code"] = purpose
        if beneficiary:
            line["beneficiary"] = beneficiary
        if line["kind"] == "project" and protect_rng.random() < 0.25:
            line["protection"] = protect_rng.choice([*PROTECTIONS, "none"])
        projects.append(line)
    raw: dict[str, Any] = {"fiscal_year": 2021, "departments": departments, "projects": projects}
    if envelope == "auto":
        total = sum(Decimal(p["requested"]) for p in projects)
        share = Decimal(rng.choice(["0.3", "0.7", "0.95", "1.2"]))
        raw["envelope"] = str(min(total * share, Decimal("9999999999999.99")).quantize(Decimal("0.01")))
    elif envelope is not None:
        raw["envelope"] = envelope
    return raw


@pytest.fixture
def make_request() -> Callable[..., dict[str, Any]]:
    return random_request
