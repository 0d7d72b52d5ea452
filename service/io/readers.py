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

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

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

CSV_FILES = {"departments": "departments.csv", "projects": "projects.csv"}
SHEET_NAMES = {"departments": ("departments", "部门"), "projects": ("projects", "项目")}
REQUEST_SHEET = "request"
REQUEST_HEADER_KEYS = ("key", "field", "字段")
_UTF8_BOM = b"\xef\xbb\xbf"

Origins = dict[tuple[str, int], str]


class InputFileError(Exception):
    """The request file cannot be read as a request container (申报文件无法读取).

    ``problems`` holds one line per problem, each naming the file and the row, column or cell.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))


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


class _NonFiniteNumberError(ValueError):
    """NaN / Infinity met while parsing JSON."""


class _DuplicateKeyError(ValueError):
    """The same key twice in one JSON object: json.loads would silently keep the last one."""


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


def read_json_file(path: Path, fiscal_year: int | None = None) -> LoadedRequest:
    """Parse a JSON request exactly: numbers with a fraction or exponent become ``Decimal``."""
    text = _decode_utf8(_read_limited(path), path.name)  # the bytes are freed before parsing (peak memory)
    try:
        data = json.loads(
            text,
            parse_float=Decimal,
            parse_int=int,
            parse_constant=_reject_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise InputFileError([f"{path.name} line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]) from exc
    except _NonFiniteNumberError as exc:
        raise InputFileError([f"{path.name}: {exc} is not allowed: JSON numbers must be finite"]) from exc
    except _DuplicateKeyError as exc:
        raise InputFileError(
            [f"{path.name}: the key {exc.args[0]!r} appears twice in the same JSON object; keep one"]
        ) from exc
    except RecursionError as exc:
        raise InputFileError([f"{path.name}: JSON is nested too deeply"]) from exc
    except ValueError as exc:  # e.g. an integer with more digits than Python accepts
        raise InputFileError([f"{path.name}: invalid JSON number: {exc}"]) from exc
    if not isinstance(data, dict):
        raise InputFileError([f"{path.name}: the top level must be a JSON object, found {_json_type(data)}"])
    if fiscal_year is not None:
        data["fiscal_year"] = fiscal_year
    return LoadedRequest(data=data, origins={})


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


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


# --- folder of CSVs ---------------------------------------------------------------------------


def read_csv_folder(folder: Path, fiscal_year: int | None) -> LoadedRequest:
    """Read ``departments.csv`` and ``projects.csv`` of ``folder``; ``fiscal_year`` is required."""
    problems: list[str] = []
    if fiscal_year is None:
        problems.append(f"{folder}: a folder of CSVs needs --fiscal-year")
    for kind in RECORD_KINDS:
        if not (folder / CSV_FILES[kind]).is_file():
            problems.append(f"{folder}: {CSV_FILES[kind]} is missing")
    if problems:
        raise InputFileError(problems)
    data: dict[str, Any] = {"fiscal_year": fiscal_year}
    origins: Origins = {}
    for kind in RECORD_KINDS:
        name = CSV_FILES[kind]
        try:
            text = _decode_utf8(_read_limited(folder / name), name)
        except InputFileError as exc:
            problems.extend(exc.problems)
            continue
        records, places, file_problems = read_records_from_csv_text(text, name)
        problems.extend(file_problems)
        data[kind] = records
        origins.update({(kind, index): place for index, place in enumerate(places)})
    if problems:
        raise InputFileError(problems)
    return LoadedRequest(data=data, origins=origins)


def read_records_from_csv_text(text: str, name: str) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """Parse CSV text whose first row holds field names.

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


def read_xlsx_file(path: Path, fiscal_year: int | None = None) -> LoadedRequest:
    """Read sheets ``departments``/``部门``, ``projects``/``项目`` and the optional ``request``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError([f"{path.name}: cannot read: {exc.strerror or exc}"]) from exc
    if size > MAX_INPUT_BYTES:
        raise InputFileError([_too_large(path.name, size)])
    container_problems = check_xlsx_container(path)
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
    problems: list[str] = []
    data: dict[str, Any] = {}
    origins: Origins = {}
    request_sheet = _find_sheet(workbook, (REQUEST_SHEET,), file_name, problems)
    if request_sheet is not None:
        data.update(_read_request_sheet(request_sheet, problems))
    for kind in RECORD_KINDS:
        sheet = _find_sheet(workbook, SHEET_NAMES[kind], file_name, problems, required=True)
        if sheet is None:
            continue
        records, places = _read_record_sheet(sheet, problems)
        data[kind] = records
        origins.update({(kind, index): place for index, place in enumerate(places)})
    if fiscal_year is not None:
        data["fiscal_year"] = fiscal_year
    elif "fiscal_year" not in data:
        problems.append(
            f"{file_name}: no fiscal_year: add a sheet '{REQUEST_SHEET}' with a row "
            "'fiscal_year | 2021', or pass --fiscal-year"
        )
    if problems:
        raise InputFileError(problems)
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


def _sheet_place(sheet: Any) -> str:
    return f"workbook sheet '{sheet.title}'"


def _iter_sheet_rows(sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    """Yield ``(row number, cells)`` for every row of a read-only sheet.

    The sheet's declared dimension is ignored: a forged ``A1:XFD1048576`` would otherwise make
    openpyxl pad billions of empty cells. Rows then hold only up to their last written cell.
    """
    sheet.reset_dimensions()
    for number, row in enumerate(sheet.iter_rows(), start=1):
        yield number, list(row)


def _read_record_sheet(sheet: Any, problems: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Records of a departments/projects sheet and the place of each."""
    rows = _iter_sheet_rows(sheet)
    sheet_place = _sheet_place(sheet)
    header: list[str] | None = None
    records: list[dict[str, Any]] = []
    places: list[str] = []
    for number, cells in rows:
        values = [
            _cell_value(cell, sheet_place, number, position, problems) for position, cell in enumerate(cells, start=1)
        ]
        if header is None:
            if not any(value is not None for value in values):
                continue  # blank rows above the header
            header, header_problems = _parse_header(values, f"{sheet_place} row {number}")
            problems.extend(header_problems)
            continue
        record = _record_from_values(values, header, f"{sheet_place} row {number}", problems)
        if record is not None:
            records.append(record)
            places.append(f"{sheet_place} row {number}")
    if header is None:
        problems.append(f"{sheet_place}: the sheet is empty: a header row of field names is expected")
    return records, places


def _record_from_values(
    values: Sequence[Any], header: Sequence[str], place: str, problems: list[str]
) -> dict[str, Any] | None:
    """The present cells of one sheet row keyed by field name; ``None`` for a blank row."""
    if all(value is None for value in values):
        return None
    record: dict[str, Any] = {}
    for position, value in enumerate(values, start=1):
        if value is None:
            continue
        title = header[position - 1] if position <= len(header) else ""
        if not title:
            problems.append(f"{place}: column {_column_label(position)} holds a value but has no name in the header")
            continue
        record[title] = value
    return record


def _read_request_sheet(sheet: Any, problems: list[str]) -> dict[str, Any]:
    """Key/value rows (fiscal_year, envelope, ruleset) of the optional ``request`` sheet."""
    sheet_place = _sheet_place(sheet)
    found: dict[str, Any] = {}
    for number, cells in _iter_sheet_rows(sheet):
        values = [
            _cell_value(cell, sheet_place, number, position, problems) for position, cell in enumerate(cells, start=1)
        ]
        if all(value is None for value in values):
            continue
        key = values[0] if values else None
        if not isinstance(key, str):
            problems.append(f"{sheet_place} row {number}: column A must hold a field name")
            continue
        if not found and key.casefold() in REQUEST_HEADER_KEYS:
            continue  # an optional "key | value" header row
        if any(value is not None for value in values[2:]):
            problems.append(f"{sheet_place} row {number}: only two columns (key, value) are read")
        if key in found:
            problems.append(f"{sheet_place} row {number}: {key!r} is given twice")
            continue
        value = values[1] if len(values) > 1 else None
        if value is not None:
            found[key] = value
    return found


def _cell_value(
    cell: Any, sheet_place: str, row: int, column: int, problems: list[str]
) -> str | int | bool | Decimal | None:
    """The exact value of one cell: int, bool, Decimal, stripped str, or ``None`` when empty."""
    value = cell.value
    where = f"{sheet_place} cell {get_column_letter(column)}{row}"
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "e":
        problems.append(f"{where}: holds the spreadsheet error {value}; type a value instead")
        return None
    if isinstance(value, bool | int):
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
