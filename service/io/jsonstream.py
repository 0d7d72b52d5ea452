"""A JSON request read a piece at a time: the header whole, the project lines one by one (逐条读取).

``budget-rules recommend FILE.json`` used to parse the whole file into Python objects before deciding:
about 100 MB for 100,000 lines, all alive until the first line was decided. :class:`JsonRequestStream`
instead gives the request's header (every top-level key but the ``projects`` array) as a dict, and the
project lines as an iterator that parses each line only when it is asked for, so the streamed decision
(:func:`service.batch.recommend_stream`) holds a chunk of lines at a time.

Exactness. Every value (a header value, one project line) is parsed by the very scanner that
:func:`service.io.strictjson.loads_exact` uses: the standard library's C JSON scanner with the same hooks
(``Decimal`` for a number with a fraction or exponent, NaN and Infinity refused, a key repeated in one
object refused). Only the top-level object and the ``projects`` array around the values are walked
here. That walk does not describe problems: at the first thing it does not expect (bad syntax, bad
UTF-8, a repeated top-level key, a file over the size limit, …) it reads the file whole with
:func:`service.io.readers.read_json_file`, which raises the same :class:`InputFileError` as before, with the
same line and column. Errors are the rare case; only a correct file is read piece by piece.
Lines are parsed a run at a time (:data:`RUN` characters of whole lines, one call of the scanner; see
:func:`_run`), by the same scanner and hooks, so the values are the same; a run that is not whole lines, or
that the scanner refuses, is read a line at a time instead.

Key order. The header usually comes first (fiscal_year, envelope, ruleset, departments, projects). When
``projects`` comes before ``fiscal_year`` or ``departments``, the rest of the file is read once first
(each line parsed and dropped) to find the header, then the lines are read again. When a key follows the
``projects`` array of a file read in one go, :class:`HeaderAfterProjects` is raised at the end of the
lines: the caller starts again with ``header_first=True``. Either way the lines are never all in memory.

Why not ijson: its C backend (yajl) gives no way to refuse a repeated key inside a line at C speed, its
messages differ, and one prefix per pass does not fit "header anywhere". Measured on the 100,000-line
request (CPU seconds, best of 5): the whole-text parse 0.33, this module's per-line scanning 0.38,
ijson ``items`` 0.32 without the repeated-key check and 0.55 with it (a ``dict`` subclass).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from json.scanner import make_scanner
from pathlib import Path
from typing import IO, Any, NoReturn

from service.io.strictjson import _object_without_duplicates, _reject_constant

MAX_INPUT_BYTES = 50 * 1024 * 1024
"""As :data:`service.io.readers.MAX_INPUT_BYTES` (checked equal by the tests; not imported: readers imports
openpyxl)."""

MAX_PROJECTS = 2_000_000
"""As ``RequestHeader.projects``' ``max_length``: a longer list is read whole, to be refused as before."""

BLOCK = 256 * 1024
"""Bytes read from the file at a time."""

AHEAD = 64 * 1024
"""Characters kept ahead of a value before it is parsed, so that a line is rarely cut by a block's end."""

RUN = 32 * 1024
"""Characters of whole lines parsed by one call of the scanner (about a hundred lines): a line at a time, the
loop around the scanner cost as much as the scanner."""

_UTF8_BOM = b"\xef\xbb\xbf"
_WS = re.compile(r"[ \t\n\r]*")
_SEPARATOR = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_int=int, parse_constant=_reject_constant, object_pairs_hook=_object_without_duplicates
)
_scan: Callable[[str, int], tuple[Any, int]] = make_scanner(_DECODER)  # type: ignore[arg-type]
_INCOMPLETE = (json.JSONDecodeError, StopIteration)
"""What the scanner raises on a value cut short (as on a wrong one): read more, and try again."""


def _run(text: str, at: int) -> tuple[list[Any] | None, int]:
    """The lines from ``at`` (the start of one) to the last ``}`` before ``at + RUN`` that a comma and another line
    follow, parsed by one call of the scanner, and where the next line starts; ``(None, that ``}``)`` when the text
    up to it is not whole lines (the brace closes something inside a line, or is inside a string).

    Wrapped in brackets, that text parses as an array, and uses up all of it, only when it is whole lines: ended
    inside a string, the string is left open; ended inside a line, a bracket or a brace is. Every value is then
    what :meth:`JsonRequestStream._items` would have parsed one at a time, by the same scanner: anything it would
    refuse (a repeated key, NaN, …) makes the run fail too, and the lines are read one at a time as before.
    """
    cut = text.rfind("}", at, at + RUN)
    found = _SEPARATOR.match(text, cut + 1) if cut > at else None
    if found is None or not text.startswith("{", found.end()):
        return None, max(cut, at)
    wrapped = "[" + text[at : cut + 1] + "]"
    try:
        run, end = _scan(wrapped, 0)
    except (ValueError, StopIteration, RecursionError):
        return None, cut
    if end != len(wrapped):  # the run went past the projects array ("], "key": [{…}, {…"): its bracket ended it
        return None, cut
    return run, found.end()


class ReadWhole(Exception):
    """The file is valid JSON but unusual for this reader (over :data:`MAX_PROJECTS` lines): read it whole."""


class HeaderAfterProjects(Exception):
    """A key follows the ``projects`` array: open again with ``header_first=True`` (nothing was decided)."""


class JsonRequestStream:
    """The header of a JSON request (``raw``) and its project lines (``projects``, an iterator, or ``None``).

    ``raw`` holds every top-level key in file order, with ``"projects": []`` standing for a projects array
    (its lines come from ``projects``); when the file has no projects array, ``raw`` is the whole request and
    ``projects`` is ``None``. ``fiscal_year``, when given, overrides the file's (as :func:`read_json_file`).
    ``position`` and ``size`` are the bytes read so far and the file's size (for a progress bar).
    """

    def __init__(self, path: Path, fiscal_year: int | None = None, *, header_first: bool = False) -> None:
        self.path = Path(path)
        self._fiscal_year = fiscal_year
        self.size = 0
        self.position = 0
        self.raw: dict[str, Any] = {}
        self.projects: Iterator[Any] | None = None
        self._text = ""
        self._at = 0
        self._eof = False
        self._file: IO[bytes] | None = None
        self._decode = codecs.getincrementaldecoder("utf-8")().decode
        try:
            self._open()
            at_projects = self._walk(start=True, stop_at_projects=True)
            needed = {"departments"} if fiscal_year is not None else {"fiscal_year", "departments"}
            if at_projects and (header_first or not needed <= self.raw.keys()):
                self._skip_projects()  # the header is (also) after the lines: read it first, then again
                self._walk(start=False, stop_at_projects=False)
                self.close()
                self._open()
                self._walk(start=True, stop_at_projects=True, again=True)
                self.projects = self._lines(header_known=True)
            elif at_projects:
                self.projects = self._lines(header_known=False)
            else:
                self.close()
        except BaseException:
            self.close()
            raise
        if fiscal_year is not None:
            self.raw["fiscal_year"] = fiscal_year

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- the file, a block at a time ------------------------------------------------------------

    def _open(self) -> None:
        try:
            self.size = self.path.stat().st_size
            if self.size > MAX_INPUT_BYTES:
                self._fail()
            self._file = self.path.open("rb")
        except OSError:
            self._fail()
        self._text, self._at, self._eof, self.position = "", 0, False, 0
        self._decode = codecs.getincrementaldecoder("utf-8")().decode
        self._more()
        if self._text.startswith("\ufeff"):  # one byte-order mark is allowed, as read_json_file allows it
            self._at = 1

    def _more(self) -> bool:
        """Append the next block to the text (dropping what was consumed); False at the end of the file."""
        if self._eof:
            return False
        assert self._file is not None
        try:
            block = self._file.read(BLOCK)
            self.position += len(block)
            if self.position > MAX_INPUT_BYTES:
                self._fail()
            text = self._decode(block, final=not block)
        except (OSError, UnicodeDecodeError):
            self._fail()
        self._text = self._text[self._at :] + text
        self._at = 0
        if not block:
            self._eof = True
            self.close()
        return True

    def _fail(self) -> NoReturn:
        """Stop here: the file is read whole, which raises the exact problem (or :class:`ReadWhole`)."""
        self.close()
        from service.io.readers import read_json_file  # imports openpyxl: only on a bad file

        read_json_file(self.path, self._fiscal_year)
        raise ReadWhole(f"{self.path.name}: read whole")

    # --- values and punctuation -------------------------------------------------------------------

    def _next_char(self) -> str:
        """The next character that is not JSON whitespace, without consuming it ('' at the end of the file)."""
        while True:
            self._at = _WS.match(self._text, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._text):
                return self._text[self._at]
            if not self._more():
                return ""

    def _expect(self, char: str) -> None:
        if self._next_char() != char:
            self._fail()
        self._at += 1

    def _value(self) -> Any:
        """The next JSON value, parsed by the strict scanner; more of the file is read while it is cut short."""
        self._next_char()
        while True:
            if len(self._text) - self._at < AHEAD and self._more():
                continue
            try:
                value, end = _scan(self._text, self._at)
            except _INCOMPLETE:
                if self._more():
                    continue
                self._fail()
            except (ValueError, RecursionError):  # a repeated key, NaN, a number too long: no more text helps
                self._fail()
            if end == len(self._text) and self._more():  # a number may go on in the next block
                continue
            self._at = end
            return value

    # --- the top-level object and the projects array ----------------------------------------------

    def _walk(self, *, start: bool, stop_at_projects: bool, again: bool = False) -> bool:
        """Read top-level keys into ``raw`` up to a projects array (True) or to the end of the object (False).

        ``start``: at the start of the file, else just after the projects array. ``again``: the header was
        read before; its keys are only walked past.
        """
        if start:
            self._expect("{")
            if self._next_char() == "}":
                self._at += 1
                self._end()
                return False
        elif self._after_value():
            return False
        while True:
            if self._next_char() != '"':
                self._fail()
            key = self._value()
            self._expect(":")
            if stop_at_projects and key == "projects" and self._next_char() == "[":
                self._at += 1
                if not again:
                    self._add(key, [])
                return True
            value = self._value()
            if not again:
                self._add(key, value)
            if self._after_value():
                return False

    def _add(self, key: str, value: Any) -> None:
        if key in self.raw:  # a repeated top-level key
            self._fail()
        self.raw[key] = value

    def _after_value(self) -> bool:
        """After a top-level value: True at the end of the object (the rest of the file checked), False after ','."""
        char = self._next_char()
        self._at += 1
        if char == "}":
            self._end()
            return True
        if char != ",":
            self._fail()
        return False

    def _end(self) -> None:
        if self._next_char() != "":  # only whitespace may follow the object
            self._fail()

    def _skip_projects(self) -> None:
        for _ in self._items():
            pass

    def _items(self) -> Iterator[Any]:
        """The lines of the projects array, from just after its '[' to just after its ']'.

        The loop is :meth:`_value` and :meth:`_next_char` inlined for the usual case of a line well inside
        the text read (a fifth of the reading time): one scan for the line, one match for the comma and the
        whitespace around it. Anything else takes those methods.
        """
        if self._next_char() == "]":
            self._at += 1
            return
        count = 0
        separator, scan = _SEPARATOR.match, _scan
        tried = -1  # where a run last ended that was not whole lines: runs are tried again only after it
        while True:  # at the start of a line's value (whitespace skipped)
            text, at = self._text, self._at
            if at > tried and len(text) - at >= AHEAD:
                run, after = _run(text, at)
                if run is not None and count + len(run) <= MAX_PROJECTS:
                    count += len(run)
                    yield from run
                    self._at = after
                    continue
                tried = after
            end = 0
            if len(text) - at >= AHEAD:
                try:
                    item, end = scan(text, at)
                except (ValueError, StopIteration, RecursionError):
                    end = 0  # told apart (cut short or wrong) by _value
            if 0 < end < len(text):
                self._at = end
            else:
                item = self._value()
            count += 1
            if count > MAX_PROJECTS:
                self.close()
                raise ReadWhole(f"{self.path.name}: more than {MAX_PROJECTS:,} project lines")
            yield item
            text = self._text
            found = separator(text, self._at)
            if found is not None and found.end() < len(text):
                self._at = found.end()
                continue
            char = self._next_char()
            self._at += 1
            if char == "]":
                return
            if char != ",":
                self._fail()
            self._next_char()

    def _lines(self, *, header_known: bool) -> Iterator[Any]:
        try:
            yield from self._items()
            if header_known:
                self._walk(start=False, stop_at_projects=False, again=True)
            elif not self._after_value():
                raise HeaderAfterProjects(f"{self.path.name}: a key follows the projects array")
        finally:
            self.close()
