from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class DatasetPublic(BaseModel):
    id: str
    created_at: datetime
    actor: str
    source: str
    digest: str
    fiscal_year: int | None
    departments: int
    projects: int


class DatasetDetail(DatasetPublic):
    data: dict[str, Any]


class DatasetPage(BaseModel):
    items: list[DatasetPublic]
    limit: int
    offset: int
    total: int
