"""Effective fiscal-year ranges (生效年度): from_year..to_year, to_year None meaning "onwards"."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class YearRange:
    from_year: int
    to_year: int | None = None

    def covers(self, year: int) -> bool:
        return self.from_year <= year and (self.to_year is None or year <= self.to_year)

    def overlap(self, other: YearRange) -> YearRange | None:
        start = max(self.from_year, other.from_year)
        ends = [y for y in (self.to_year, other.to_year) if y is not None]
        end = min(ends) if ends else None
        if end is not None and end < start:
            return None
        return YearRange(start, end)

    def words(self) -> str:
        if self.to_year == self.from_year:
            return str(self.from_year)
        return f"{self.from_year}–{self.to_year if self.to_year is not None else 'onwards'}"
