"""Reading raw input at any boundary (HTTP body, CLI file, stored job): bad input must never become a 500.

``parse_json_object`` reads exact JSON (:mod:`service.io.strictjson`) and insists on an object.

``parse_request`` (the domain) lists every problem. A JSON array or object where a record expects a
single value (e.g. ``"department_id": ["D01"]``) currently makes it raise TypeError, so such values are
found here first, blanked, and reported together with whatever else the domain finds.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from service.app.errors import InvalidJson
from service.domain.errors import InvalidInput, Problem
from service.domain.records import BudgetRequest, parse_request
from service.io.strictjson import StrictJsonError, loads_exact

log = logging.getLogger("budget_rules.app")
RECORD_KINDS = ("departments", "projects")


def _compound_values(raw: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for kind in RECORD_KINDS:
        records = raw.get(kind)
        if not isinstance(records, list):
            continue
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                continue
            for key, value in record.items():
                if isinstance(value, list | dict):
                    shape = "an array" if isinstance(value, list) else "an object"
                    problems.append(Problem((kind, index, key), f"must be a single value, not {shape}"))
    return problems


def parse_budget_request(raw: Any, origins: Mapping[tuple[str, int], str] | None = None) -> BudgetRequest:
    compound = _compound_values(raw) if isinstance(raw, Mapping) else []
    if compound:
        cleaned = copy.deepcopy(dict(raw))
        for problem in compound:
            kind, index, key = problem.loc
            cleaned[kind][index][key] = None
        seen = {p.loc for p in compound}
        try:
            parse_request(cleaned, origins)
            others: list[Problem] = []
        except InvalidInput as error:
            others = [p for p in error.problems if p.loc not in seen]
        except (TypeError, ValueError, AttributeError):
            others = []
        raise InvalidInput(compound + others)
    try:
        return parse_request(raw, origins)
    except (TypeError, ValueError, AttributeError) as error:  # a domain gap: still the client's input
        log.warning("request validation raised %s: %s", type(error).__name__, error)
        raise InvalidInput([Problem((), f"the request cannot be read: {error}")]) from None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as an exact JSON object, or :class:`InvalidJson` located at ``body``."""

    def fail(message: str) -> InvalidJson:
        return InvalidJson(message, details=[{"loc": ["body"], "message": message}])

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise fail(f"the body is not UTF-8 (byte {error.start})") from None
    try:
        data = loads_exact(text)
    except StrictJsonError as error:
        raise fail(str(error)) from None
    if not isinstance(data, dict):
        raise fail("the body must be a JSON object")
    return data
