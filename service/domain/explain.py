"""Explanation templates: ``{placeholder}`` texts in Chinese and English, filled with actual values.

Templates are split into literal text and placeholder names once, when a ruleset is compiled, so
rendering a reason is a join of pre-split parts. Values are formatted by their kind: money with
thousands separators and two decimals, scores as written, rates as percentages.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from service.domain.money import decimal_text

# A template is a tuple of parts: literal text (str) or a placeholder name (a 1-tuple).
Template = tuple[str | tuple[str], ...]


def compile_template(text: str) -> Template:
    parts: list[str | tuple[str]] = []
    rest = text
    while rest:
        start = rest.find("{")
        end = rest.find("}", start + 1) if start >= 0 else -1
        if start < 0 or end < 0:
            parts.append(rest)
            break
        if start:
            parts.append(rest[:start])
        parts.append((rest[start + 1 : end],))
        rest = rest[end + 1 :]
    return tuple(parts)


def render(template: Template, lookup: Callable[[str], str]) -> str:
    return "".join([p if isinstance(p, str) else lookup(p[0]) for p in template])


def money_words(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def rate_words(rate: Decimal) -> str:
    return decimal_text(rate * 100) + "%"


def value_words(value: object, kind: str | None = None) -> str:
    """Human text of a fact or parameter value (kind: money, score, rate, integer, …)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if kind == "money":
            return money_words(value)
        if kind == "rate":
            return rate_words(value)
        return decimal_text(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
