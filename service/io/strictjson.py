"""Exact JSON, the one parser of every JSON the service reads (request files, HTTP bodies, stored scenarios).

Numbers with a fraction or exponent become ``Decimal`` (never float); NaN and Infinity are refused, and
so is a key repeated in one object (``json.loads`` would silently keep the last one).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class StrictJsonError(ValueError):
    """The text is not exact JSON; the message says where and why (without naming the source).

    A syntax error also carries its ``line``, ``column`` and ``reason``, for callers that name the file first.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.line, self.column, self.reason = line, column, reason


class _NonFiniteNumberError(ValueError):
    """NaN / Infinity met while parsing JSON."""


class _DuplicateKeyError(ValueError):
    """The same key twice in one JSON object."""


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumberError(name)


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):  # the usual case, checked without a Python loop (a third of the parse)
        return result
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen.add(key)
    raise AssertionError("unreachable: fewer keys than pairs means a duplicate")


def loads_exact(text: str) -> Any:
    """Parse ``text`` exactly, or raise :class:`StrictJsonError` with a message for people."""
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_int=int,
            parse_constant=_reject_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except json.JSONDecodeError as error:
        message = f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        raise StrictJsonError(message, error.lineno, error.colno, error.msg) from None
    except _NonFiniteNumberError as error:
        raise StrictJsonError(f"{error} is not allowed: JSON numbers must be finite") from None
    except _DuplicateKeyError as error:
        raise StrictJsonError(f"the key {error.args[0]!r} appears twice in the same JSON object; keep one") from None
    except RecursionError:
        raise StrictJsonError("JSON is nested too deeply") from None
    except ValueError as error:  # e.g. an integer with more digits than Python accepts
        raise StrictJsonError(f"invalid JSON number: {error}") from None


def json_type(value: object) -> str:
    """What a JSON value is, in words (for "must be an object, found …")."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
