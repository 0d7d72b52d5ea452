from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.api.datasets.schemas import DatasetDetail, DatasetPage, DatasetPublic
from service.api.deps import COMPILERS, DATASET_READERS, State
from service.api.offload import parse_off_loop
from service.app import datasets as service
from service.app.errors import Unprocessable
from service.app.requests import parse_json_object
from service.storage.db import as_utc
from service.storage.models import DatasetRow

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "description": "a budget request (CONTRACT.md)"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "fiscal_year": {"type": "integer"},
                    },
                }
            },
        },
    }
}


def _public(row: DatasetRow) -> DatasetPublic:
    data = row.model_dump(exclude={"data_json"})
    data["created_at"] = as_utc(row.created_at)
    return DatasetPublic.model_validate(data)


@router.post("", status_code=201, response_model=DatasetPublic, openapi_extra=_BODY_DOC)
async def import_dataset(request: Request, state: State, actor: COMPILERS) -> DatasetPublic:
    """A budget request as a JSON body, or uploaded: one .json/.xlsx file (sheets 部门/项目/参数 or English),
    or departments.csv + projects.csv (or 部门.csv + 项目.csv, with an optional 参数.csv)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=3, max_fields=10, max_part_size=state.settings.max_body_bytes)
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        files = [(f.filename or "", await f.read()) for f in uploads]
        year_text = form.get("fiscal_year")
        fiscal_year = _year(year_text) if isinstance(year_text, str) and year_text.strip() else None
        data, origins, source = await run_in_threadpool(service.read_uploads, files, fiscal_year)
    else:
        data, origins, source = await parse_off_loop(await request.body(), parse_json_object), {}, "request body"
    row = await run_in_threadpool(service.import_dataset, state, actor, data, source, origins)
    return _public(row)


def _year(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Unprocessable(
            "fiscal_year must be an integer",
            code="invalid_input",
            details=[{"loc": ["fiscal_year"], "message": "must be an integer"}],
        ) from None


@router.get("", response_model=DatasetPage)
def list_datasets(
    state: State,
    _: DATASET_READERS,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DatasetPage:
    rows, total = service.list_datasets(state, limit, offset)
    return DatasetPage(items=[_public(r) for r in rows], limit=limit, offset=offset, total=total)


@router.get("/{dataset_id}", response_model=DatasetDetail)
def get_dataset(dataset_id: str, state: State, _: DATASET_READERS) -> DatasetDetail:
    row = service.get_dataset(state, dataset_id)
    return DatasetDetail(**_public(row).model_dump(), data=json.loads(row.data_json))
