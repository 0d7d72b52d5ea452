"""Import a dataset (JSON body or uploaded .json/.xlsx/CSV pair), validate it, record it in the audit trail."""

from __future__ import annotations

import hashlib
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

from service import audit
from service.app.errors import NotFound
from service.app.requests import parse_budget_request
from service.app.state import AppState
from service.domain.ruleset import canonical_json
from service.io.readers import InputFileError, read_request
from service.storage.db import utc_now
from service.storage.models import DatasetRow
from service.storage.repositories import datasets as repository

UPLOAD_SUFFIXES = (".json", ".xlsx", ".csv")
CSV_NAMES = ("departments.csv", "projects.csv")


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


def read_uploads(
    files: list[tuple[str, bytes]], fiscal_year: int | None
) -> tuple[dict[str, Any], dict[tuple[str, int], str], str]:
    """Read uploaded files with the same readers as the CLI: one .json or .xlsx, or departments.csv + projects.csv."""
    names = [Path(name or "").name.lower() for name, _ in files]
    if (len(files) == 1 and names[0].endswith((".json", ".xlsx"))) or sorted(names) == sorted(CSV_NAMES):
        pass
    else:
        raise InputFileError(
            [
                "upload one .json or .xlsx file, or two files named departments.csv and projects.csv "
                f"(got: {', '.join(names) or 'nothing'})"
            ]
        )
    with tempfile.TemporaryDirectory(prefix="budget-rules-upload-") as folder:
        root = Path(folder)
        for (_, content), name in zip(files, names, strict=True):
            safe = re.sub(r"[^a-z0-9._-]", "_", name) or "upload"
            (root / safe).write_bytes(content)
        target = root if names[0].endswith(".csv") else root / re.sub(r"[^a-z0-9._-]", "_", names[0])
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
