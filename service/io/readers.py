"""Readers: turn a request file (JSON, a folder of CSVs, an .xlsx workbook) into the raw request dict.

读取申报文件。These adapters only parse the container and report *container* problems (file not
found, not UTF-8, bad JSON, a missing sheet, a row wider than its header, a date cell, a zip bomb).
They never check budget rules: types, ranges, required fields and duplicates are the core's job,
which receives the raw dict in :class:`LoadedRequest` together with ``origins`` so that it can name
"projects.csv row 7" instead of "projects[5]" in its own messages.

Money and scores stay exact: JSON numbers are read as ``Decimal`` through their text, CSV cells stay
strings, and float cells of a workbook become ``Decimal(repr(value))``. No float ever leaves here.

Exceptions::

    InputFileError          every problem of the container, one line each, in ``problems``
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet._reader import VALUE_TAG, WorkSheetParser  # type: ignore[import-untyped]

from service.io.errors import InputFileError as InputFileError  # defined there; imported from here too
from service.io.strictjson import StrictJsonError, json_type, loads_exact
from service.io.workbook import PARAMETER_HEADER_WORDS, HeaderColumn, cell_value, resolve_header

MAX_INPUT_BYTES = 50 * 1024 * 1024
"""Largest JSON or CSV file (and largest .xlsx file on disk) that is read at all."""

MAX_XLSX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
"""Largest total uncompressed size of the members of an .xlsx workbook (zip-bomb guard)."""

MAX_XLSX_COMPRESSION_RATIO = 200
"""Largest uncompressed/compressed ratio of one member of an .xlsx workbook (zip-bomb guard)."""

RATIO_CHECK_MIN_BYTES = 1024 * 1024
"""Members smaller than this are not ratio-checked: they cannot be a bomb, and tiny repetitive XML
parts of ordinary workbooks legitimately compress very well."""

RECORD_KINDS = ("departments", "projects")
"""The two record lists of a request, in the order they are read."""

CSV_FILES = {
    "departments": ("departments.csv", "部门.csv"),
    "projects": ("projects.csv", "项目.csv"),
    "parameters": ("参数.csv", "request.csv"),
}
SHEET_NAMES = {
    "departments": ("departments", "部门"),
    "projects": ("projects", "项目"),
    "parameters": ("request", "参数", "parameters"),
}

MAX_SHEET_ROWS = 100_000
"""Most rows of one sheet or CSV file (the header included); larger requests go as JSON."""

MAX_SHEET_COLUMNS = 64
"""Rightmost column a record sheet may use (BL); the documented headers need 15."""

MAX_SHEET_CELLS = 2_000_000
"""Most stored cells of one sheet (counted in its XML before parsing)."""

MAX_PROBLEMS = 200
"""Most problems listed for one file; the rest are counted in a last line."""
_UTF8_BOM = b"\xef\xbb\xbf"

Origins = dict[tuple[str, int], str]


@dataclass
class LoadedRequest:
    """The raw request dict and, per record, the human place it came from.

    ``origins`` maps ``("projects", index)`` / ``("departments", index)`` to e.g.
    ``"projects.csv row 7"`` or ``"workbook sheet 'projects' row 7"``; it is empty for JSON input.
    """

    data: dict[str, Any]
    origins: Origins = field(default_factory=dict)


def read_request(path: Path, fiscal_year: int | None = None) -> LoadedRequest:
    """Read a request from a ``.json`` file, a folder of CSVs or an ``.xlsx`` workbook.

    ``fiscal_year``, when given, overrides the one in the file (a folder of CSVs needs it).
    Raises :class:`InputFileError` listing every container problem found.
    """
    path = Path(path)
    if path.is_dir():
        return read_csv_folder(path, fiscal_year)
    if not path.exists():
        raise InputFileError([f"{path}: no such file or folder"])
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_json_file(path, fiscal_year)
    if suffix == ".xlsx":
        return read_xlsx_file(path, fiscal_year)
    raise InputFileError(
        [
            f"{path.name}: unsupported input {suffix or '(no extension)'!s}: "
            "give a .json file, an .xlsx workbook or a folder holding departments.csv and projects.csv"
        ]
    )


# --- JSON -------------------------------------------------------------------------------------


def read_json_file(path: Path, fiscal_year: int | None = None) -> LoadedRequest:
    """Parse a JSON request exactly: numbers with a fraction or exponent become ``Decimal``."""
    text = _decode_utf8(_read_limited(path), path.name)  # the bytes are freed before parsing (peak memory)
    try:
        data = loads_exact(text)
    except StrictJsonError as exc:
        if exc.line is not None:
            raise InputFileError(
                [f"{path.name} line {exc.line} column {exc.column}: invalid JSON: {exc.reason}"]
            ) from exc
        raise InputFileError([f"{path.name}: {exc}"]) from exc
    if not isinstance(data, dict):
        raise InputFileError([f"{path.name}: the top level must be a JSON object, found {json_type(data)}"])
    if fiscal_year is not None:
        data["fiscal_year"] = fiscal_year
    return LoadedRequest(data=data, origins={})


# --- shared file helpers ----------------------------------------------------------------------


def _read_limited(path: Path) -> bytes:
    """Read a whole file, refusing one over :data:`MAX_INPUT_BYTES` before reading it."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputFileError([_too_large(path.name, size)])
        with path.open("rb") as fh:
            raw = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputFileError([f"{path.name}: cannot read: {exc.strerror or exc}"]) from exc
    if len(raw) > MAX_INPUT_BYTES:
        raise InputFileError([_too_large(path.name, len(raw))])
    return raw


def _too_large(name: str, size: int) -> str:
    return (
        f"{name}: file is too large ({size:,} bytes); the limit is {MAX_INPUT_BYTES:,} bytes "
        f"({MAX_INPUT_BYTES // (1024 * 1024)} MB)"
    )


def _decode_utf8(raw: bytes, name: str) -> str:
    """Decode UTF-8 with an optional BOM; on failure name the byte offset of the first bad byte."""
    bom = len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            [
                f"{name}: not valid UTF-8 (byte offset {exc.start + bom}): the file must be saved as "
                "UTF-8 (e.g. in Excel: 'CSV UTF-8'), not GBK or another legacy encoding"
            ]
        ) from exc


# --- problems, bounded ------------------------------------------------------------------------


class ProblemLog(list[str]):
    """Problems of one file, keeping at most ``cap``; the rest are only counted (问题过多时只列前若干条)."""

    def __init__(self, cap: int = MAX_PROBLEMS) -> None:
        super().__init__()
        self.cap = cap
        self.more = 0

    def append(self, problem: str) -> None:
        if len(self) < self.cap:
            super().append(problem)
        else:
            self.more += 1

    def extend(self, problems: Iterable[str]) -> None:
        for problem in problems:
            self.append(problem)

    def lines(self) -> list[str]:
        """The kept problems, and a last line saying how many more there were."""
        if not self.more:
            return list(self)
        return [*self, f"… and {self.more:,} more problems (另有 {self.more:,} 个问题未列出); fix these first"]


def _raise_if_any(problems: ProblemLog) -> None:
    if problems or problems.more:
        raise InputFileError(problems.lines())


# --- header and cells, shared by CSV files and sheets -----------------------------------------

_NAMELESS = "nameless"
_SKIPPED = "skipped"
ColumnSlot = HeaderColumn | str
"""A resolved header cell: the field's column, or ``_NAMELESS`` (blank title) / ``_SKIPPED``."""


def cell_ref(place: str, column: int, row: int) -> str:
    """``"项目!E3"``: the sheet (or CSV file) and the cell, as a spreadsheet user names it."""
    return f"{place}!{get_column_letter(column)}{row}"


def _resolve_header_row(
    kind: str, values: Sequence[Any], place: str, row: int, problems: list[str]
) -> list[ColumnSlot]:
    """Each header cell resolved through the alias table of :mod:`service.io.workbook`."""
    slots: list[ColumnSlot] = []
    seen: dict[str, str] = {}
    for position, value in enumerate(values, start=1):
        title = "" if value is None else str(value).strip()
        ref = cell_ref(place, position, row)
        if not title:
            slots.append(_NAMELESS)
            continue
        found = resolve_header(kind, title)
        if isinstance(found, str):
            problems.append(f"{ref}: {found}")
            slots.append(_SKIPPED)
        elif found is None:
            slots.append(_SKIPPED)
        elif found.column.field in seen:
            problems.append(
                f"{ref}: column {title!r} is the same field ({found.column.field}) as "
                f"{seen[found.column.field]}; keep one"
            )
            slots.append(_SKIPPED)
        else:
            seen[found.column.field] = ref
            slots.append(found)
    if not any(isinstance(slot, HeaderColumn) for slot in slots):
        problems.append(f"{place}!{row}: the header row names no known column (see docs/workbooks.md)")
    return slots


def _record_from_row(
    values: Sequence[Any], slots: Sequence[ColumnSlot], place: str, row: int, problems: list[str]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The fields of one row and the cell each came from; ``(None, {})`` for a blank row."""
    if all(value is None for value in values):
        return None, {}
    record: dict[str, Any] = {}
    cells: dict[str, str] = {}
    for position, value in enumerate(values, start=1):
        if value is None:
            continue
        slot = slots[position - 1] if position <= len(slots) else _NAMELESS
        ref = cell_ref(place, position, row)
        if slot == _NAMELESS:
            problems.append(f"{ref}: holds a value but its column has no name in the header")
            continue
        if not isinstance(slot, HeaderColumn):
            continue  # an ignored column, or an unknown one already named at the header
        converted, problem = cell_value(slot, value)
        if problem is not None:
            problems.append(f"{ref}: {slot.column.title}: {problem}")
            continue
        record[slot.column.field] = converted
        cells[slot.column.field] = ref
    return record, cells


def _add_origins(origins: Origins, kind: str, index: int, place: str, cells: Mapping[str, str]) -> None:
    """Where record ``index`` came from, and each field's cell, keyed as :func:`parse_request` reads them."""
    origins[(kind, index)] = place
    for name, ref in cells.items():
        origins[(f"{kind}.{name}", index)] = ref


def _read_parameter_rows(rows: Iterable[tuple[int, list[Any]]], place: str, problems: list[str]) -> dict[str, Any]:
    """``name | value`` rows of the 参数 sheet (or request sheet / 参数.csv), under an optional header row."""
    found: dict[str, Any] = {}
    where: dict[str, str] = {}
    first = True
    for number, values in rows:
        if all(value is None for value in values):
            continue
        key = values[0] if values else None
        was_first, first = first, False
        if not isinstance(key, str):
            problems.append(f"{cell_ref(place, 1, number)}: column A must hold a parameter name such as 预算年度")
            continue
        if was_first and _key_word(key) in PARAMETER_HEADER_WORDS:
            continue  # the optional "参数 | 值" header row
        if any(value is not None for value in values[2:]):
            problems.append(f"{place}!{number}: only two columns (name, value) are read")
        resolved = resolve_header("parameters", key)
        if isinstance(resolved, str):
            problems.append(f"{cell_ref(place, 1, number)}: {resolved}")
            continue
        if resolved is None:
            continue
        name = resolved.column.field
        if name in found:
            problems.append(f"{cell_ref(place, 1, number)}: {key!r} is given twice (also {where[name]})")
            continue
        value = values[1] if len(values) > 1 else None
        if value is None:
            continue
        converted, problem = cell_value(resolved, value)
        if problem is not None:
            problems.append(f"{cell_ref(place, 2, number)}: {resolved.column.title}: {problem}")
            continue
        found[name] = converted
        where[name] = cell_ref(place, 2, number)
    return found


def _key_word(text: str) -> str:
    return text.strip().casefold()


# --- folder of CSVs ---------------------------------------------------------------------------


def read_csv_folder(folder: Path, fiscal_year: int | None) -> LoadedRequest:
    """Read ``departments.csv``/``部门.csv`` and ``projects.csv``/``项目.csv`` of ``folder``, and the
    optional ``参数.csv`` (or ``request.csv``); ``fiscal_year`` is required unless 参数 gives it."""
    problems = ProblemLog()
    files: dict[str, Path] = {}
    for kind in (*RECORD_KINDS, "parameters"):
        present = [folder / name for name in CSV_FILES[kind] if (folder / name).is_file()]
        if len(present) > 1:
            problems.append(f"{folder}: {' and '.join(p.name for p in present)} are the same list; keep one")
        elif present:
            files[kind] = present[0]
        elif kind in RECORD_KINDS:
            problems.append(f"{folder}: {' or '.join(CSV_FILES[kind])} is missing")
    _raise_if_any(problems)
    data: dict[str, Any] = {}
    origins: Origins = {}
    for kind, path in files.items():
        try:
            text = _decode_utf8(_read_limited(path), path.name)
        except InputFileError as exc:
            problems.extend(exc.problems)
            continue
        rows = _csv_rows(text, path.name, problems)
        if kind == "parameters":
            data.update(_read_parameter_rows(rows, path.name, problems))
            continue
        records = _read_record_rows(kind, rows, path.name, problems, origins)
        data[kind] = records
    if fiscal_year is not None:
        data["fiscal_year"] = fiscal_year
    elif "fiscal_year" not in data:
        problems.append(f"{folder}: a folder of CSVs needs --fiscal-year (or a 参数.csv row '预算年度,2021')")
    _raise_if_any(problems)
    return LoadedRequest(data=data, origins=origins)


def _csv_rows(text: str, name: str, problems: list[str]) -> Iterator[tuple[int, list[Any]]]:
    """Numbered rows of CSV text, each cell stripped, blanks as ``None``; a syntax error ends the file."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for number, cells in _numbered_csv_rows(reader, name):
            if len(cells) > MAX_SHEET_COLUMNS and any(cell.strip() for cell in cells[MAX_SHEET_COLUMNS:]):
                problems.append(f"{name} row {number}: refused: more than {MAX_SHEET_COLUMNS} columns")
                return
            yield number, [cell.strip() or None for cell in cells]
    except _CsvSyntaxError as exc:
        problems.append(str(exc))


def read_records_from_csv_text(text: str, name: str) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """Parse CSV text whose first row holds field names, without the alias table (raw titles kept).

    Returns ``(records, places, problems)``: one dict per non-blank row holding its non-empty cells
    (stripped strings), the place of each record ("projects.csv row 7", the header being row 1),
    and the container problems found.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = _numbered_csv_rows(reader, name)
    try:
        header_number, header_cells = next(rows)
    except StopIteration:
        return [], [], [f"{name}: the file is empty: a header row of field names is expected"]
    except _CsvSyntaxError as exc:
        return [], [], [str(exc)]
    header, problems = _parse_header(header_cells, f"{name} row {header_number}")
    records: list[dict[str, str]] = []
    places: list[str] = []
    try:
        for number, cells in rows:
            place = f"{name} row {number}"
            record, row_problems = _record_from_cells(cells, header, place)
            problems.extend(row_problems)
            if record is not None:
                records.append(record)
                places.append(place)
    except _CsvSyntaxError as exc:
        problems.append(str(exc))
    return records, places, problems


class _CsvSyntaxError(Exception):
    """A CSV syntax error, already worded with file and row."""


def _numbered_csv_rows(reader: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row number, cells)``; the row number counts records like a spreadsheet does."""
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _CsvSyntaxError(f"{name} row {number + 1}: invalid CSV: {exc}") from exc
        number += 1
        if number > MAX_SHEET_ROWS:
            raise _CsvSyntaxError(
                f"{name} row {number}: refused: more than {MAX_SHEET_ROWS:,} rows; send a request this large as JSON"
            )
        yield number, cells


def _parse_header(cells: Sequence[object], place: str) -> tuple[list[str], list[str]]:
    """Stripped field names of a header row, and problems (duplicate names)."""
    header = ["" if cell is None else str(cell).strip() for cell in cells]
    problems: list[str] = []
    seen: set[str] = set()
    for position, title in enumerate(header, start=1):
        if not title:
            continue
        if title in seen:
            problems.append(f"{place}: duplicate column name {title!r} (column {_column_label(position)})")
        seen.add(title)
    if not seen:
        problems.append(f"{place}: the header row holds no field names")
    return header, problems


def _record_from_cells(
    cells: Sequence[str], header: Sequence[str], place: str
) -> tuple[dict[str, str] | None, list[str]]:
    """The non-empty cells of one CSV row keyed by field name; ``None`` for a blank row."""
    values = [cell.strip() for cell in cells]
    if not any(values):
        return None, []
    problems: list[str] = []
    if len(values) > len(header) and any(values[len(header) :]):
        problems.append(f"{place}: {len(values)} cells but the header has {len(header)} columns")
    record: dict[str, str] = {}
    for position, (title, value) in enumerate(zip(header, values, strict=False), start=1):
        if not value:
            continue
        if not title:
            problems.append(f"{place}: column {_column_label(position)} holds a value but has no name in the header")
            continue
        record[title] = value
    return record, problems


def _column_label(position: int) -> str:
    """Spreadsheet letter and 1-based number of a column, e.g. ``"C (3)"``."""
    return f"{get_column_letter(position)} ({position})"


def _read_record_rows(
    kind: str, rows: Iterable[tuple[int, list[Any]]], place: str, problems: list[str], origins: Origins
) -> list[dict[str, Any]]:
    """Records of a 部门/项目 sheet or CSV file (header row first, blank rows skipped)."""
    slots: list[ColumnSlot] | None = None
    records: list[dict[str, Any]] = []
    for number, values in rows:
        if slots is None:
            if all(value is None for value in values):
                continue  # blank rows above the header
            slots = _resolve_header_row(kind, values, place, number, problems)
            continue
        record, cells = _record_from_row(values, slots, place, number, problems)
        if record is not None:
            _add_origins(origins, kind, len(records), f"{place} row {number}", cells)
            records.append(record)
    if slots is None:
        problems.append(f"{place}: empty: a header row of column names is expected")
    return records


# --- .xlsx workbook ---------------------------------------------------------------------------


def check_xlsx_container(
    path: Path,
    *,
    max_total_bytes: int = MAX_XLSX_UNCOMPRESSED_BYTES,
    max_ratio: float = MAX_XLSX_COMPRESSION_RATIO,
    ratio_min_bytes: int = RATIO_CHECK_MIN_BYTES,
) -> list[str]:
    """Zip-bomb guard: inspect the zip directory only, never extracting anything.

    Returns problems (empty when the workbook may be opened). The declared sizes can be trusted as
    bounds because :mod:`zipfile` stops decompressing a member at its declared size.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        return [f"{path.name}: not a valid .xlsx workbook ({exc})"]
    problems: list[str] = []
    total = sum(member.file_size for member in members)
    if total > max_total_bytes:
        problems.append(
            f"{path.name}: refused: the workbook would expand to {total:,} bytes; "
            f"the limit is {max_total_bytes:,} bytes"
        )
    for member in members:
        if member.file_size < ratio_min_bytes:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > max_ratio:
            problems.append(
                f"{path.name}: refused: member {member.filename} has a compression ratio of "
                f"{ratio:.0f} (limit {max_ratio:g}), a sign of a zip bomb"
            )
    return problems


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>/]")
_SCAN_CHUNK = 1024 * 1024


def check_sheet_sizes(path: Path, *, max_rows: int = MAX_SHEET_ROWS, max_cells: int = MAX_SHEET_CELLS) -> list[str]:
    """Count each sheet's rows and cells in its raw XML, before openpyxl parses anything.

    A byte scan (no XML parsing) stops at the first sheet over :data:`MAX_SHEET_ROWS` rows or
    :data:`MAX_SHEET_CELLS` cells, so a million-row workbook is refused in well under a second
    (openpyxl alone scans a whole sheet that lacks a ``<dimension>`` before reading one row).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            titles = _sheet_titles(archive)
            for member in archive.infolist():
                name = member.filename
                if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    continue
                rows, cells = _count_tags(archive, name, max_rows, max_cells)
                title = titles.get(name, name)
                if rows > max_rows:
                    return [
                        f"{path.name}: refused: sheet {title!r} has more than {max_rows:,} rows "
                        "(工作表行数超过上限); send a request this large as JSON"
                    ]
                if cells > max_cells:
                    return [
                        f"{path.name}: refused: sheet {title!r} has more than {max_cells:,} cells "
                        "(工作表单元格数超过上限)"
                    ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        return [f"{path.name}: not a valid .xlsx workbook ({exc})"]
    return []


def _count_tags(archive: zipfile.ZipFile, name: str, max_rows: int, max_cells: int) -> tuple[int, int]:
    """Rows and cells of one sheet's XML, counted in chunks; stops as soon as either bound is passed."""
    rows = cells = 0
    tail = b""
    with archive.open(name) as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            data = tail + chunk
            cut = max(len(data) - 32, 0)  # a tag split across chunks is counted in the next round
            head, tail = data[:cut], data[cut:]
            rows += len(_ROW_TAG.findall(head))
            cells += len(_CELL_TAG.findall(head))
            if rows > max_rows or cells > max_cells:
                break
    rows += len(_ROW_TAG.findall(tail))
    cells += len(_CELL_TAG.findall(tail))
    return rows, cells


def _sheet_titles(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name → sheet title, from xl/workbook.xml and its relationships (best effort)."""
    from xml.etree import ElementTree

    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return {}
    targets = {rel.get("Id"): str(rel.get("Target", "")) for rel in rels}
    titles = {}
    for sheet in workbook.iter():
        if not sheet.tag.endswith("}sheet"):
            continue
        rel_id = next((value for key, value in sheet.attrib.items() if key.endswith("}id")), None)
        target = targets.get(rel_id, "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        titles[part] = str(sheet.get("name", ""))
    return titles


def read_xlsx_file(path: Path, fiscal_year: int | None = None) -> LoadedRequest:
    """Read sheets 部门/``departments``, 项目/``projects`` and the optional 参数/``request``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError([f"{path.name}: cannot read: {exc.strerror or exc}"]) from exc
    if size > MAX_INPUT_BYTES:
        raise InputFileError([_too_large(path.name, size)])
    container_problems = check_xlsx_container(path) or check_sheet_sizes(path)
    if container_problems:
        raise InputFileError(container_problems)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise InputFileError([f"{path.name}: not a valid .xlsx workbook ({type(exc).__name__}: {exc})"]) from exc
    try:
        return _read_workbook(workbook, path.name, fiscal_year)
    except InputFileError:
        raise
    except Exception as exc:  # a damaged part met while streaming rows
        raise InputFileError([f"{path.name}: the workbook cannot be read ({type(exc).__name__}: {exc})"]) from exc
    finally:
        workbook.close()


def _read_workbook(workbook: Any, file_name: str, fiscal_year: int | None) -> LoadedRequest:
    problems = ProblemLog()
    data: dict[str, Any] = {}
    origins: Origins = {}
    parameter_sheet = _find_sheet(workbook, SHEET_NAMES["parameters"], file_name, problems)
    if parameter_sheet is not None:
        data.update(_read_parameter_rows(_iter_sheet_rows(parameter_sheet, problems), parameter_sheet.title, problems))
    for kind in RECORD_KINDS:
        sheet = _find_sheet(workbook, SHEET_NAMES[kind], file_name, problems, required=True)
        if sheet is None:
            continue
        data[kind] = _read_record_rows(kind, _iter_sheet_rows(sheet, problems), sheet.title, problems, origins)
    if fiscal_year is not None:
        data["fiscal_year"] = fiscal_year
    elif "fiscal_year" not in data:
        problems.append(
            f"{file_name}: no fiscal year: add a sheet 参数 with a row '预算年度 | 2021', or pass --fiscal-year"
        )
    _raise_if_any(problems)
    return LoadedRequest(data=data, origins=origins)


def _find_sheet(
    workbook: Any,
    names: Sequence[str],
    file_name: str,
    problems: list[str],
    *,
    required: bool = False,
) -> Any:
    """The one sheet whose title matches one of ``names`` (case and spaces ignored), or ``None``."""
    wanted = {name.casefold() for name in names}
    found = [title for title in workbook.sheetnames if title.strip().casefold() in wanted]
    if len(found) > 1:
        problems.append(f"{file_name}: sheets {', '.join(repr(t) for t in found)} are the same list; keep one")
        return None
    if not found:
        if required:
            problems.append(
                f"{file_name}: no sheet named {' or '.join(repr(n) for n in names)} "
                f"(sheets: {', '.join(repr(t) for t in workbook.sheetnames) or 'none'})"
            )
        return None
    return workbook[found[0]]


class _ExactCellParser(WorkSheetParser):  # type: ignore[misc]
    """openpyxl's sheet parser, except that a number cell keeps its exact decimal text as ``Decimal``.

    openpyxl would turn ``<v>0.1</v>`` into the float 0.1; money must never pass through a float.
    """

    def parse_cell(self, element: Any) -> dict[str, Any]:
        cell: dict[str, Any] = super().parse_cell(element)
        if cell["data_type"] == "n" and isinstance(cell["value"], float):
            text = element.findtext(VALUE_TAG, None)
            # on a malformed number the float stays: it is then read through its repr
            with contextlib.suppress(ArithmeticError):
                cell["value"] = Decimal(text.strip()) if text else cell["value"]
        return cell


def _iter_sheet_rows(sheet: Any, problems: list[str]) -> Iterator[tuple[int, list[Any]]]:
    """Yield ``(row number, values)`` for each stored row of a read-only sheet, bounded.

    Only stored cells are visited (openpyxl's own row iterator pads every row to its last column:
    one cell in column XFD on each of 10,000 rows costs 164 million empty cells). A sheet past
    :data:`MAX_SHEET_ROWS` rows or :data:`MAX_SHEET_COLUMNS` columns is refused at the first such
    cell, before the rest is read; the declared dimension is never trusted.
    """
    workbook = sheet.parent
    place = sheet.title
    with sheet._get_source() as source:  # openpyxl's read-only sheets stream from here
        parser = _ExactCellParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, cells in parser.parse():
            if number > MAX_SHEET_ROWS:
                raise InputFileError(
                    [
                        f"{place}!A{number}: refused: the sheet has more than {MAX_SHEET_ROWS:,} rows "
                        f"(工作表行数超过上限); send a request this large as JSON"
                    ]
                )
            width = max((cell["column"] for cell in cells), default=0)
            if width > MAX_SHEET_COLUMNS:
                raise InputFileError(
                    [
                        f"{cell_ref(place, width, number)}: refused: a value beyond column "
                        f"{get_column_letter(MAX_SHEET_COLUMNS)} (工作表列数超过上限 {MAX_SHEET_COLUMNS}); "
                        "delete the stray cells to the right of the table"
                    ]
                )
            values: list[Any] = [None] * width
            for cell in cells:
                values[cell["column"] - 1] = _cell_value(cell, cell_ref(place, cell["column"], number), problems)
            yield number, values


def _cell_value(cell: Mapping[str, Any], where: str, problems: list[str]) -> str | int | bool | Decimal | None:
    """The exact value of one cell: int, bool, Decimal, stripped str, or ``None`` when empty."""
    value = cell["value"]
    if value is None:
        return None
    if cell["data_type"] == "e":
        problems.append(f"{where}: holds the spreadsheet error {value}; type a value instead")
        return None
    if isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            problems.append(f"{where}: {value} is not a finite number")
            return None
        return value
    if isinstance(value, float):
        number = Decimal(repr(value))
        if not number.is_finite():
            problems.append(f"{where}: {value} is not a finite number")
            return None
        return number
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        problems.append(f"{where}: holds a date or time ({value}); type the value as a number or as text")
        return None
    problems.append(f"{where}: unsupported cell content of type {type(value).__name__}")
    return None
