"""Recommendations for very large requests (a province: 100,000+ lines) in bounded memory.

The document is written as compact JSON with one project line a text line: ``{"decision_id":…,
"lines":[`` then each line's object, then ``],"summary":{…}}`` — valid JSON that a person can
still read a line at a time, and that the C JSON encoder writes fast.

The in-memory path (:func:`service.domain.decision.recommend`) holds every line's model, facts,
outcome and explanations at once: about 7 KB a line. This path gives the same document, byte for
byte, while holding only a few numbers per line:

1. Lines are validated, matched and folded in chunks. Each line's partial result (everything but
   the cross-line flags and the allocation) is written to a temporary file and dropped; what the
   allocation and the cross-line rules need (fens, tier, status, the few facts the group rules
   compare) stays in memory.
2. Cross-line rules (overlap review), the envelope and pool allocation, and the summary are computed
   from those numbers.
3. The partial lines are read back one at a time, completed, and written as JSON.

Nothing is written to the output until every line has been validated: invalid input still raises
:class:`InvalidInput` listing every problem, and leaves the output untouched.

Lines read a line at a time (``projects``), more than :data:`POOLED_FROM` of them, may be decided on worker
processes (``workers``): the same passes, split as :mod:`service.batchpool` describes, the same bytes.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import multiprocessing
import operator
import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSequence, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TypeVar, cast, overload

import orjson

from service.domain import gcpause
from service.domain.decision import (
    STATUSES,
    Candidates,
    Matcher,
    allocation_explanations,
    department_totals,
    document_head,
    line_status,
    share_envelope,
    summary_of,
)
from service.domain.evaluation import Fold, LineOutcome
from service.domain.facts import FIELDS, LineFacts, line_facts
from service.domain.money import ZERO, fen_utf8, from_fen, money_text, to_fen
from service.domain.records import Project, RequestHeader, RequestValidator
from service.domain.ruleset import CompiledRuleset

if TYPE_CHECKING:
    from service.batchpool import LinePool, Places

CHUNK = 2000
POOLED_FROM = 1001  # lines from which worker processes pay (:mod:`service.batchpool`): measured even at 1,000
WRITE_EVERY = 256  # pieces of output text joined per write: fewer calls, and a small buffer (the memory peak)
_LINES = '"@@LINES@@"'
T = TypeVar("T")
Progress = Callable[[int, int], None]


def _dumps(value: Any) -> str:
    """Compact JSON text through orjson: for the str, int, bool, None, list and dict values here, the same
    characters as ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, about 5x faster."""
    return orjson.dumps(value).decode()


class _Line(NamedTuple):
    """What stays in memory of a line between the passes (money in fens); a tuple, which worker processes
    pass back and forth about 20 times as fast as a dataclass (:mod:`service.batchpool`)."""

    project_id: str
    department_id: str
    requested: int
    amount: int
    reclaimed: int
    tier: int | None
    status: str | None
    terminated_by: str | None
    urgent: bool


_Columns = tuple[Sequence[Any], ...]
"""Lines as columns, in the order of :class:`_Line`'s fields: what a worker process hands over (pickled about six
times as fast as the lines themselves, and appended to a :class:`_LineTable` without being taken apart)."""

_as_line = functools.partial(tuple.__new__, _Line)  # _Line._make without its Python call: a line a tuple, in C


def _columns_of(lines: Sequence[_Line]) -> _Columns:
    return tuple(zip(*lines, strict=True)) if lines else ((),) * len(_Line._fields)


def lines_of(columns: _Columns) -> list[_Line]:
    return list(map(_as_line, zip(*columns, strict=True)))


class _GroupLine(NamedTuple):
    """A line that meets a cross-line rule: the facts its explanations read."""

    matched: frozenset[str]
    facts: LineFacts
    name: str
    department_name: str


class Compared(NamedTuple):
    """What the cross-line rules compare of the lines that meet one, by line index: the rules each line meets, and
    the fields those rules group and tell apart (in a worker process's parent, without the names and the fields
    only the explanations read: 23,771 of the 100,000 demo lines took 17 MB there as :class:`_GroupLine` s)."""

    matches: dict[int, frozenset[str]]
    facts: dict[int, LineFacts]

    @classmethod
    def of(cls, groups: Mapping[int, _GroupLine], fields: frozenset[str] | None = None) -> Compared:
        """``groups`` as compared; with ``fields``, only those facts are kept."""
        if fields is None:
            return cls({i: g.matched for i, g in groups.items()}, {i: g.facts for i, g in groups.items()})
        facts = {i: {k: v for k, v in g.facts.items() if k in fields} for i, g in groups.items()}
        return cls({i: g.matched for i, g in groups.items()}, facts)


class Completion(NamedTuple):
    """What pass 2 needs of the lines beside their spool records, keyed by line index: the facts of the lines
    that meet a cross-line rule, those rules' results, and the allocation (fens)."""

    groups: Mapping[int, _GroupLine]
    group_results: Mapping[int, Mapping[str, list[Any]]]
    env_shares: Mapping[int, int]
    pool_shares: Mapping[int, int]
    enveloped: bool


def recommend_stream(
    raw: dict[str, Any],
    ruleset: CompiledRuleset,
    matcher: Matcher,
    out: IO[str],
    *,
    decision_id: str | None = None,
    origins: Mapping[tuple[str, int], str] | None = None,
    progress: Progress | None = None,
    projects: Iterator[Any] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Write the result document of ``raw`` to ``out``; returns its head and summary (no lines).

    The request's project items are released as they are consumed (``raw["projects"]`` is emptied).
    ``projects``, when given, yields the project items instead of ``raw["projects"]`` (a file read a line at a
    time: :mod:`service.io.jsonstream`); ``raw["projects"]`` is then ``[]``, for the header's validation.
    With ``workers`` over 1 and more than a chunk of lines (:data:`service.batchpool.CHUNK`) given by
    ``projects``, both passes run on that many worker processes (:mod:`service.batchpool`), with the same
    result; a line with a problem then raises :class:`service.batchpool.DecideSerially` before anything is
    written: decide again with ``workers=1`` to have every problem listed.
    """
    with gcpause.paused():  # see service/domain/gcpause.py
        if workers > 1 and projects is not None and "fork" in multiprocessing.get_all_start_methods():
            head = list(itertools.islice(projects, POOLED_FROM))
            projects = itertools.chain(head, projects)
            if len(head) == POOLED_FROM and RequestValidator(raw).header is not None:
                from service.batchpool import LinePool

                with LinePool(raw, ruleset, matcher.name, workers) as pool:
                    return _recommend_stream(raw, ruleset, matcher, out, decision_id, origins, progress, projects, pool)
        return _recommend_stream(raw, ruleset, matcher, out, decision_id, origins, progress, projects)


def _recommend_stream(
    raw: dict[str, Any],
    ruleset: CompiledRuleset,
    matcher: Matcher,
    out: IO[str],
    decision_id: str | None,
    origins: Mapping[tuple[str, int], str] | None,
    progress: Progress | None,
    projects: Iterator[Any] | None = None,
    pool: LinePool | None = None,
) -> dict[str, Any]:
    validator = RequestValidator(raw)
    listed = raw.get("projects") if isinstance(raw.get("projects"), list) else []
    assert isinstance(listed, MutableSequence)
    items = listed if projects is None else projects
    total = len(listed)  # 0 for lines given by ``projects``: their count is known only at the end
    with tempfile.TemporaryFile(mode="w+b") as spool:
        lines: _LineTable
        groups: dict[int, _GroupLine] = {}  # the parent of worker processes keeps only what is compared of them
        places: list[Places] = []
        if pool is None:
            lines, groups = _first_pass(validator, items, ruleset, matcher, spool, progress, total)
        else:
            assert projects is not None  # a pool is started only for lines given one at a time
            lines, compared, places = _first_pass_pooled(pool, projects, progress)
        validator.finish(origins)
        header = validator.header
        assert header is not None
        group_results = _cross_line(ruleset, lines, Compared.of(groups) if pool is None else compared)
        if pool is not None:
            del compared  # each worker reads its chunks' groups back from its spool: the parent's memory peak is here
        env_shares, pool_shares, reserve_envelope, reserve_pool = _allocate(header.envelope, lines)
        totals = _department_totals(lines, env_shares, pool_shares, header.envelope is not None)
        summary = summary_of(totals, header.departments, reserve_envelope, reserve_pool)
        head = document_head(header, ruleset, decision_id)
        before, after = _dumps({**head, "lines": "@@LINES@@", "summary": summary}).split(_LINES)
        out.write(before)
        spool.seek(0)
        completion = Completion(groups, group_results, env_shares, pool_shares, header.envelope is not None)
        if pool is None:
            _second_pass(spool, out, ruleset, lines, completion)
        else:
            _second_pass_pooled(pool, places, out, len(lines), completion)
        out.write(after)
    return {**head, "summary": summary}


def _first_pass(
    validator: RequestValidator,
    items: MutableSequence[Any] | Iterator[Any],
    ruleset: CompiledRuleset,
    matcher: Matcher,
    spool: IO[bytes],
    progress: Progress | None,
    total: int,
) -> tuple[_LineTable, dict[int, _GroupLine]]:
    decider = Decider(validator.header, ruleset, matcher) if validator.header is not None else None
    lines = _LineTable()
    groups: dict[int, _GroupLine] = {}
    for start, run in _runs(items):
        chunk = [p for p in validator.projects(start, run) if p is not None]
        del run  # release the raw items as they are consumed
        if decider is not None and not validator.problems:
            decided, grouped, partials = decider.decide(chunk, len(lines))
            lines.extend(decided)
            groups.update(grouped)
            spool.write(partials)
        if progress:
            progress(len(lines), total)
    return lines, groups


class Decider:
    """Matches and folds validated lines a chunk at a time (pass 1 without the validation): in this process, or
    in a worker process of :mod:`service.batchpool`."""

    def __init__(self, header: RequestHeader, ruleset: CompiledRuleset, matcher: Matcher) -> None:
        self.departments = {d.department_id: d for d in header.departments}
        self.fiscal_year = header.fiscal_year
        self.matcher = matcher
        self.fold = Fold(ruleset)
        self.precedence = {p.id: p.precedence for p in ruleset.policies}
        self.group_keys = frozenset(g.key for p in ruleset.policies for g in p.group_rules)
        self.group_fields = _group_fields(ruleset)
        self.distinct: dict[frozenset[str], frozenset[str]] = {}

    def decide(self, chunk: list[Project], first: int) -> tuple[_Columns, dict[int, _GroupLine], bytes]:
        """The chunk's lines (the ``first`` is line ``first`` of the request): what stays in memory of each (as
        columns), the ones that meet a cross-line rule (by line index), and their spool records (:func:`_partial`)."""
        departments, fold, group_keys, group_fields = self.departments, self.fold, self.group_keys, self.group_fields
        facts = [line_facts(p, departments[p.department_id], self.fiscal_year) for p in chunk]
        lines: list[_Line] = []
        groups: dict[int, _GroupLine] = {}
        partials: list[bytes] = []
        for p, f, matched in zip(chunk, facts, self.matcher.match(facts), strict=True):
            department_name = departments[p.department_id].name
            outcome = fold.fold_line(p, department_name, f, matched, {})
            grouped = matched & group_keys
            if grouped:
                grouped = self.distinct.setdefault(grouped, grouped)  # one object for equal sets: pickled once
                kept = {k: v for k, v in f.items() if k in group_fields}
                groups[first + len(lines)] = _GroupLine(grouped, kept, p.name, department_name)
            lines.append(_compact(outcome))
            partials.append(_partial(outcome, self.precedence if grouped else None))
        return _columns_of(lines), groups, b"".join(partials)  # one spool write: a write costs more than the join


def _runs(items: MutableSequence[Any] | Iterator[Any], size: int = CHUNK) -> Iterable[tuple[int, list[Any]]]:
    """(index of the first, items) of each ``size`` of ``items``; a list's slots are released as they are taken."""
    if isinstance(items, MutableSequence):
        for start in range(0, len(items), size):
            run = list(items[start : start + size])
            items[start : start + size] = [None] * len(run)
            yield start, run
            del run  # before the next run is taken: one run of raw items alive at a time
        items.clear()
        return
    start = 0
    while run := list(itertools.islice(items, size)):
        yield start, run
        start += len(run)
        del run


_GROUP_FIELDS: dict[str, frozenset[str]] = {}


def _group_fields(ruleset: CompiledRuleset) -> frozenset[str]:
    cached = _GROUP_FIELDS.get(ruleset.digest)
    if cached is None:
        placeholders = {
            part[0]
            for p in ruleset.policies
            for g in p.group_rules
            for template in g.explain
            for part in template
            if isinstance(part, tuple)
        }
        cached = frozenset(
            {f for p in ruleset.policies for g in p.group_rules for f in (*g.fields, *g.same, *g.differ)}
            | (placeholders & set(FIELDS))
        )
        _GROUP_FIELDS[ruleset.digest] = cached
    return cached


def _compact(o: LineOutcome) -> _Line:
    p = o.project
    return _Line(
        p.project_id,
        p.department_id,
        to_fen(p.requested),
        to_fen(o.amount),
        to_fen(o.reclaimed),
        o.tier,
        o.status,
        o.terminated_by.id if o.terminated_by else None,
        p.urgent,
    )


def _partial(o: LineOutcome, precedence: Mapping[str, int] | None) -> bytes:
    """The line as far as the fold takes it: a spool record of tab-separated parts (JSON text has no raw tab
    or newline), written by orjson straight from the fold's values, read back once by :func:`_second_pass`:

    - the line's text up to ``"recommended":"`` (ids, name, kind, requested, after the policies);
    - the rest from ``"tier":`` to the closing brace (tier, flags, explanations), or empty for a line that
      meets a cross-line rule (``precedence`` given): its flags and explanations may still change, so
    - then, for that line, its flags with the precedence of each flag and explanation, and its explanations.
    """
    p = o.project
    head = orjson.dumps(
        {
            "project_id": p.project_id,
            "department_id": p.department_id,
            "name": p.name,
            "kind": str(p.kind),
            "requested": money_text(p.requested),
            "after_policies": money_text(o.amount),
        }
    )
    flags = list(o.flags.values())
    if precedence is None:
        tail = orjson.dumps({"tier": o.tier, "flags": flags, "explanations": o.explanations})
        return head[:-1] + b',"recommended":"\t' + tail[1:] + b"\t\n"
    precedences = [
        [o.flag_precedence.get(f["code"], 0) for f in flags],
        [precedence.get(e["policy"], 0) for e in o.explanations],
    ]
    group = orjson.dumps([flags, precedences])
    return head[:-1] + b',"recommended":"\t\t' + group + b"\t" + orjson.dumps(o.explanations) + b"\n"


def _cross_line(ruleset: CompiledRuleset, lines: _LineTable, compared: Compared) -> dict[int, dict[str, list[Any]]]:
    if not compared.matches:
        return {}
    results = Fold(ruleset).group_flags(lines.project_ids, compared.facts, compared.matches)
    return cast(dict[int, dict[str, list[Any]]], results)


_COMPARED_FIELDS: dict[str, frozenset[str]] = {}


def compared_fields(ruleset: CompiledRuleset) -> frozenset[str]:
    """The fields the cross-line rules group lines by or tell them apart by."""
    cached = _COMPARED_FIELDS.get(ruleset.digest)
    if cached is None:
        cached = frozenset(f for p in ruleset.policies for g in p.group_rules for f in (*g.same, *g.differ))
        _COMPARED_FIELDS[ruleset.digest] = cached
    return cached


def _allocate(envelope: Decimal | None, lines: _LineTable) -> tuple[dict[int, int], dict[int, int], Decimal, Decimal]:
    pool = sum(lines.reclaimed)
    if envelope is None:
        return {}, {}, ZERO, from_fen(pool)
    taking_part = [
        i
        for i, (status, fens) in enumerate(zip(lines.statuses, lines.amounts, strict=True))
        if status is None and fens > 0
    ]
    candidates = Candidates(
        taking_part,
        _gathered(lines.project_ids, taking_part),
        _gathered(lines.tiers, taking_part),
        _gathered(lines.amounts, taking_part),
        _gathered(lines.urgent, taking_part),
    )
    env_shares, pool_shares, env_left, pool_left = share_envelope(to_fen(envelope), pool, candidates)
    return env_shares, pool_shares, from_fen(env_left), from_fen(pool_left)


def _gathered(column: Sequence[T], positions: list[int]) -> Sequence[T]:
    """``[column[i] for i in positions]``, gathered in C."""
    if len(positions) < 2:
        return [column[i] for i in positions]
    return cast(Sequence[T], operator.itemgetter(*positions)(column))


def _department_totals(
    lines: _LineTable, env_shares: dict[int, int], pool_shares: dict[int, int], enveloped: bool
) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """Each department's sums and counts by status (what :func:`summarize` makes of the lines' sums), in one
    loop over the lines' columns with plain integers (this runs in the parent while the workers wait)."""
    sums: dict[str, list[int]] = {}
    counts: dict[str, dict[str, int]] = {}
    columns = zip(lines.department_ids, lines.requested, lines.amounts, lines.reclaimed, lines.statuses, strict=True)
    env_get, pool_get = env_shares.get, pool_shares.get
    for i, (department, requested, amount, reclaimed, status) in enumerate(columns):
        pool = pool_get(i, 0)
        recommended = (env_get(i, 0) if enveloped else amount) + pool
        if department not in sums:
            sums[department] = [0, 0, 0, 0, 0]
            counts[department] = dict.fromkeys(STATUSES, 0)
        s = sums[department]
        s[0] += requested
        s[1] += amount
        s[2] += recommended
        s[3] += reclaimed
        s[4] += pool
        counts[department][line_status(status, recommended, requested)] += 1
    return {d: department_totals(sums[d], counts[d]) for d in sums}


_STATUS_UTF8 = {status: status.encode() for status in STATUSES}


def _second_pass(
    spool: IO[bytes], out: IO[str], ruleset: CompiledRuleset, lines: _LineTable, completion: Completion
) -> None:
    """Complete each stored line and write it, WRITE_EVERY lines at a time (a write call costs more than a join)."""
    if not lines:
        out.write("[]")
        return
    renderer = Renderer(ruleset)
    write = _bytes_writer(out)
    write(b"[\n")
    for first in range(0, len(lines), WRITE_EVERY):
        records = list(itertools.islice(spool, WRITE_EVERY))
        if first:
            write(b",\n")
        write(renderer.render(first, records, lines[first : first + WRITE_EVERY], completion))
    write(b"\n]")


def _first_pass_pooled(
    pool: LinePool, items: Iterator[Any], progress: Progress | None
) -> tuple[_LineTable, Compared, list[Places]]:
    """:func:`_first_pass` on the pool's workers, which keep the spool records (the place of each chunk's is
    returned); the one cross-record check a worker cannot make (a project id seen in another chunk) is made
    here."""
    from service.batchpool import CHUNK as POOLED_CHUNK
    from service.batchpool import DecideSerially

    lines = _LineTable()
    compared = Compared({}, {})
    places: list[Places] = []
    seen: set[str] = set()
    for decided, (matches, facts), place in pool.decide(_runs(items, POOLED_CHUNK)):
        seen.update(decided[0])  # the project ids
        lines.extend(decided)
        if len(seen) != len(lines):
            raise DecideSerially("a project id is repeated")
        compared.matches.update(matches)
        compared.facts.update(facts)
        places.append(place)
        if progress:
            progress(len(lines), 0)
    return lines, compared, places


class _LineTable(Sequence[_Line]):
    """What stays in memory of the request's lines between the passes, in columns: about 120 bytes a line instead of
    230 (a tuple and its integers), with one string per department id. The work between the passes reads the
    columns it needs (making a :class:`_Line` of each line took 1.3 µs a line)."""

    def __init__(self) -> None:
        self.project_ids: list[str] = []
        self.department_ids: list[str] = []
        self.requested = array("q")
        self.amounts = array("q")
        self.reclaimed = array("q")
        self.tiers: list[int | None] = []
        self.statuses: list[str | None] = []
        self.terminated_by: list[str | None] = []
        self.urgent: list[bool] = []
        self._shared: dict[str, str] = {}

    def extend(self, columns: _Columns) -> None:
        """Append lines, a column at a time (a loop in C for each; a Python loop over the lines took 5 µs a line)."""
        project_id, department_id, requested, amount, reclaimed, tier, status, terminated_by, urgent = columns
        self.project_ids += project_id
        self.department_ids += map(self._shared.setdefault, department_id, department_id)
        self.requested.extend(requested)
        self.amounts.extend(amount)
        self.reclaimed.extend(reclaimed)
        self.tiers += tier
        self.statuses += status  # a handful of distinct texts, each one object per chunk (pickle keeps one)
        self.terminated_by += terminated_by
        self.urgent += urgent

    def _columns(self) -> tuple[Sequence[Any], ...]:
        return (
            self.project_ids,
            self.department_ids,
            self.requested,
            self.amounts,
            self.reclaimed,
            self.tiers,
            self.statuses,
            self.terminated_by,
            self.urgent,
        )

    def __len__(self) -> int:
        return len(self.project_ids)

    @overload
    def __getitem__(self, index: int) -> _Line: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[_Line]: ...

    def __getitem__(self, index: int | slice) -> _Line | Sequence[_Line]:
        if isinstance(index, slice):
            return lines_of(tuple(column[index] for column in self._columns()))
        return _Line(*(column[index] for column in self._columns()))

    def __iter__(self) -> Iterator[_Line]:
        return map(_as_line, zip(*self._columns(), strict=True))


def _second_pass_pooled(pool: LinePool, places: list[Places], out: IO[str], count: int, completion: Completion) -> None:
    """:func:`_second_pass` on the pool's workers: each gets where its chunk is and only that chunk's numbers
    (its lines and their cross-line facts it reads back from its spool: ``completion.groups`` is empty here)."""
    from service.batchpool import CHUNK as POOLED_CHUNK

    group_results, env_shares, pool_shares = completion.group_results, completion.env_shares, completion.pool_shares
    assert isinstance(group_results, dict) and isinstance(env_shares, dict) and isinstance(pool_shares, dict)

    def jobs() -> Iterator[tuple[Any, ...]]:
        for k, place in enumerate(places):
            span = range(k * POOLED_CHUNK, min((k + 1) * POOLED_CHUNK, count))
            taken = (_taken(group_results, span), _taken(env_shares, span), _taken(pool_shares, span))
            yield place, span.start, *taken, completion.enveloped

    if not count:
        out.write("[]")
        return
    write = _bytes_writer(out)
    write(b"[\n")
    for k, text in enumerate(pool.render(jobs())):
        if k:
            write(b",\n")
        write(text)
    write(b"\n]")


def _taken(values: dict[int, T], span: range) -> dict[int, T]:
    """The entries of ``values`` for the lines of ``span``, removed from it: what pass 2 has handed to a worker
    is not kept to the end (the workers' memory grows in pass 2; the parent's shrinks)."""
    return {i: values.pop(i) for i in span if i in values}


def _bytes_writer(out: IO[str]) -> Callable[[bytes], object]:
    """Writes UTF-8 text given as bytes to ``out``: straight to a UTF-8 text file's buffer (the workers encode
    the lines, the parent only copies them), else decoded."""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if buffer is None or not encoding or codecs.lookup(encoding).name != "utf-8" or os.linesep != "\n":
        return lambda data: out.write(data.decode())
    out.flush()  # what was written as text comes first
    return cast(Callable[[bytes], object], buffer.write)


class Renderer:
    """Completes stored lines into their text (pass 2): in this process, or in a worker of :mod:`service.batchpool`."""

    def __init__(self, ruleset: CompiledRuleset, fold: Fold | None = None) -> None:
        self.fold = fold or Fold(ruleset)  # a worker passes its Decider's: one store of reused explanations
        self.policies = {p.id: p for p in ruleset.policies}

    def render(self, first: int, records: list[bytes], lines: Sequence[_Line], completion: Completion) -> bytes:
        """Lines ``first`` … of the document, separated by ``,\\n``, from their spool records and what stays in memory
        of them (``completion``'s mappings hold the whole request's lines, or at least these), in UTF-8: the records
        are orjson's UTF-8 and stay bytes (decoding and encoding them again cost 8% of a worker's time)."""
        fold, policies = self.fold, self.policies
        groups, group_results, env_shares, pool_shares, enveloped = completion
        pending: list[bytes] = []
        for i, line, record in zip(itertools.count(first), lines, records):
            head, tail, *group = record.split(b"\t")
            if not tail:  # a line that meets a cross-line rule: its flags and explanations are completed here
                stored_flags, precedences = orjson.loads(group[0])
                flags, explanations = orjson.dumps(stored_flags), group[1].rstrip(b"\n")
                if i in group_results:
                    flags, explanations = _with_group_results(
                        fold, policies, line, groups[i], group_results[i], stored_flags, explanations, precedences
                    )
                tier = b"null" if line.tier is None else b"%d" % line.tier
                tail = b'"tier":%b,"flags":%b,"explanations":%b}' % (tier, flags, explanations)
            pool = pool_shares.get(i, 0)
            recommended = (env_shares.get(i, 0) if enveloped else line.amount) + pool
            envelope_share = recommended - pool
            if enveloped and line.status is None and line.amount > 0 and (envelope_share < line.amount or pool > 0):
                added = allocation_explanations(
                    line.tier, from_fen(line.amount), from_fen(envelope_share), from_fen(pool)
                )
                if added:  # the same conditions as allocation_explanations': checked here on fens, it is rarely called
                    extra = orjson.dumps(added)[1:-1]
                    # the tail ends with the explanations' closing bracket and the line's closing brace
                    tail = b"%b[%b]}" % (tail[:-3], extra) if tail.endswith(b"[]}") else b"%b,%b]}" % (tail[:-2], extra)
            pending.append(
                b'%b%b","allocated_from_pool":"%b","reclaimed":"%b","status":"%b",%b'
                % (
                    head,
                    fen_utf8(recommended),
                    fen_utf8(pool),
                    fen_utf8(line.reclaimed),
                    _STATUS_UTF8[line_status(line.status, recommended, line.requested)],
                    tail,
                )
            )
        return b",\n".join(pending)


def _with_group_results(
    fold: Fold,
    policies: Mapping[str, Any],
    line: _Line,
    group: _GroupLine,
    results: Mapping[str, list[Any]],
    stored_flags: list[dict[str, Any]],
    explanations_text: bytes,
    precedences: list[list[int]],
) -> tuple[bytes, bytes]:
    """Apply the cross-line rules to a stored line as the in-memory fold would, merging by precedence (the texts:
    JSON in UTF-8)."""
    shim = LineOutcome(
        project=cast(Project, _NameOnly(line.project_id, group.name)),
        department_name=group.department_name,
        facts=group.facts,
        amount=from_fen(line.amount),
        status=line.status,
        terminated_by=policies.get(line.terminated_by) if line.terminated_by else None,
        tier=line.tier,
    )
    for policy_id, entries in results.items():
        for rule, others in entries:
            fold.apply_group(shim, policies[policy_id], rule, others)
    flag_precedences, explanation_precedences = precedences
    flags = list(zip(flag_precedences, stored_flags, strict=True))
    flags += [(shim.flag_precedence[code], flag) for code, flag in shim.flags.items()]
    merged: dict[str, Any] = {}
    for _, flag in sorted(flags, key=lambda pf: pf[0]):
        merged[flag["code"]] = flag
    added = sorted(((policies[e["policy"]].precedence, e) for e in shim.explanations), key=lambda pe: pe[0])
    flags_text = orjson.dumps(list(merged.values()))
    if not added:
        return flags_text, explanations_text
    if added[0][0] >= max(explanation_precedences, default=0):
        # The usual case (cross-line policies come late): the stable sort would put them after the stored ones,
        # so the stored text is extended without being parsed and written again.
        extra = orjson.dumps([e for _, e in added])[1:-1]
        return flags_text, b"[%b]" % extra if explanations_text == b"[]" else b"%b,%b]" % (
            explanations_text[:-1],
            extra,
        )
    explanations = list(zip(explanation_precedences, orjson.loads(explanations_text), strict=True)) + added
    return flags_text, orjson.dumps([e for _, e in sorted(explanations, key=lambda pe: pe[0])])


@dataclass(frozen=True, slots=True)
class _NameOnly:
    """The part of a project an explanation of a cross-line rule may read."""

    project_id: str
    name: str
