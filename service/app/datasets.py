"""Import a dataset (JSON body or uploaded .json/.xlsx/CSV pair), validate it, record it in the audit trail."""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
import uuid
from pathlib import Path
from typing import Any

from service import audit
from service.app.errors import NotFound
from service.app.requests import parse_budget_request
from service.app.state import AppState
from service.domain.ruleset import canonical_json
from service.io.readers import CSV_FILES, InputFileError, read_request
from service.storage.db import utc_now
from service.storage.models import DatasetRow
from service.storage.repositories import datasets as repository

UPLOAD_SUFFIXES = (".json", ".xlsx", ".csv")
_SAFE_NAME = re.compile(r"[^\x00-\x1f/\\:*?\"<>|]{1,60}")
"""An uploaded file name kept as sent (60 characters stay under the file system's 255 bytes)."""
CSV_NAMES = tuple(name for names in CSV_FILES.values() for name in names)


def digest_of(data: Any) -> str:
    return _digest_of_text(canonical_json(data))


def _digest_of_text(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def import_dataset(
    state: AppState,
    actor: audit.Actor,
    data: dict[str, Any],
    source: str,
    origins: dict[tuple[str, int], str] | None = None,
) -> DatasetRow:
    request = parse_budget_request(data, origins)  # every problem listed, or nothing stored
    text = canonical_json(data)  # once: the stored text and its digest
    row = DatasetRow(
        id=str(uuid.uuid4()),
        created_at=utc_now(),
        actor=actor.name,
        source=source[:500],
        digest=_digest_of_text(text),
        fiscal_year=request.fiscal_year,
        departments=len(request.departments),
        projects=len(request.projects),
        data_json=text,
    )
    with state.db.transaction() as session:
        repository.add(session, row)
        audit.append(
            session,
            state.settings.audit_secret,
            actor=actor,
            action="dataset.import",
            subject=row.id,
            input_doc={"dataset_id": row.id, "digest": row.digest, "source": row.source},
            result_doc={"departments": row.departments, "projects": row.projects},
        )
    return row


def _csv_kind(name: str) -> str | None:
    """Which list an uploaded CSV is, by the names the CLI reader accepts (部门.csv, projects.csv, 参数.csv …)."""
    for kind, names in CSV_FILES.items():
        if name in names:
            return kind
    return None


def read_uploads(
    files: list[tuple[str, bytes]], fiscal_year: int | None
) -> tuple[dict[str, Any], dict[tuple[str, int], str], str]:
    """Read uploaded files with the same readers as the CLI: one .json or .xlsx (sheets 部门/项目/参数 or the
    English names), or the CSVs departments.csv/部门.csv + projects.csv/项目.csv (+ optional 参数.csv)."""
    names = [unicodedata.normalize("NFC", Path(name or "").name).lower() for name, _ in files]
    kinds = [_csv_kind(name) for name in names]
    single = len(files) == 1 and names[0].endswith((".json", ".xlsx"))
    csv_set = (
        2 <= len(files) <= 3
        and None not in kinds
        and len(set(kinds)) == len(kinds)
        and {"departments", "projects"} <= set(kinds)
    )
    if not (single or csv_set):
        raise InputFileError(
            [
                "upload one .json or .xlsx file, or two files named departments.csv and projects.csv "
                "(or 部门.csv and 项目.csv, with an optional 参数.csv) "
                f"(got: {', '.join(names) or 'nothing'})"
            ]
        )
    with tempfile.TemporaryDirectory(prefix="budget-rules-upload-") as folder:
        root = Path(folder)
        if single:  # saved under the name sent (Chinese included), so problems name that file
            suffix = names[0][names[0].rfind(".") :]
            safe = names[0] if _SAFE_NAME.fullmatch(names[0]) else f"upload{suffix}"
            target = root / safe
            target.write_bytes(files[0][1])
        else:  # each CSV under its accepted name (部门.csv, projects.csv, 参数.csv …)
            for (_, content), name in zip(files, names, strict=True):
                (root / name).write_bytes(content)
            target = root
        try:
            loaded = read_request(target, fiscal_year=fiscal_year)
        except InputFileError as error:  # name the upload, not the server's temporary folder
            raise InputFileError(
                [p.replace(f"{root}/", "").replace(str(root), "upload") for p in error.problems]
            ) from None
    return loaded.data, dict(loaded.origins), ", ".join(names)


def get_dataset(state: AppState, dataset_id: str) -> DatasetRow:
    with state.db.transaction() as session:
        row = repository.get(session, dataset_id)
    if row is None:
        raise NotFound(f"no dataset {dataset_id!r}")
    return row


def list_datasets(state: AppState, limit: int, offset: int) -> tuple[list[DatasetRow], int]:
    with state.db.transaction() as session:
        return repository.page(session, limit, offset)
