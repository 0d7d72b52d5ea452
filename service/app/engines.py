"""Compiled ruleset revisions and their matchers, per worker process, swapped hot on activation.

Which revision serves which fiscal year lives in the database (``ruleset_revisions`` with state
``active``). Every resolution first reads the ``ruleset_activation`` counter (one primary-key read,
no write lock); when another worker — or this one — has activated or retired a revision, the counter
has moved and the active map is reloaded. No restart, no signal between processes.

Matchers (one durable-rules ruleset each, keyed by digest) are *leased* for the duration of one
evaluation. A matcher whose revision is no longer active is closed (its C-engine memory freed) when
its last lease ends: requests in flight finish on the revision they started with, and superseded
revisions never accumulate. Revisions used only for a replay, a pinned request or an impact preview
are built for that call and freed after it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from service.app.errors import AppError
from service.domain.decision import Matcher
from service.domain.errors import UnknownRuleset
from service.domain.ruleset import CompiledRuleset
from service.engine import EngineName, make_matcher
from service.lifecycle.revisions import CorruptRevision, RevisionContent
from service.lifecycle.years import YearRange
from service.storage.db import Database
from service.storage.repositories import rulesets as repository

COMPILED_CACHE = 32
# A pinned request may name a revision in one of these states; drafts and proposals never decide.
RUNNABLE_STATES = ("approved", "active", "retired")


@dataclass(frozen=True, slots=True)
class ActiveRevision:
    ruleset_id: str
    revision: str
    digest: str
    years: YearRange


@dataclass(slots=True)
class _Held:
    matcher: Matcher
    leases: int = 0


def split_ref(ref: str) -> tuple[str, str | None]:
    """``"wuding-county@a014971af71e"`` → (id, revision); a bare id → (id, None)."""
    ruleset_id, _, revision = ref.partition("@")
    return ruleset_id, revision or None


class Engines:
    def __init__(self, db: Database, engine: EngineName = "durable-rules") -> None:
        self._db = db
        self._engine: EngineName = engine
        self._lock = threading.Lock()
        self._seq: int | None = None
        self._active: dict[str, tuple[ActiveRevision, ...]] = {}
        self._active_digests: frozenset[str] = frozenset()
        self._compiled: OrderedDict[tuple[str, str], CompiledRuleset] = OrderedDict()
        self._matchers: dict[str, _Held] = {}

    # ------------------------------------------------------------------ which revision

    def refresh(self) -> None:
        """Reload the active map if the activation counter moved (cheap when it did not)."""
        seq = repository.activation_seq(self._db.engine)
        if seq == self._seq:
            return
        with self._db.transaction() as session:
            seq = repository.activation_seq_in(session)
            rows = repository.active(session)
        active: dict[str, list[ActiveRevision]] = {}
        for row in rows:
            years = YearRange(row.active_from_year or row.file_from_year, row.active_to_year)
            active.setdefault(row.ruleset_id, []).append(
                ActiveRevision(row.ruleset_id, row.revision, row.digest, years)
            )
        with self._lock:
            if self._seq is not None and seq <= self._seq:
                return  # another thread already applied this (or a newer) state
            self._seq = seq
            self._active = {k: tuple(v) for k, v in active.items()}
            self._active_digests = frozenset(a.digest for v in active.values() for a in v)
            for digest, held in list(self._matchers.items()):
                if held.leases == 0 and digest not in self._active_digests:
                    self._drop(digest)

    def active_revisions(self, ruleset_id: str | None = None) -> list[ActiveRevision]:
        self.refresh()
        with self._lock:
            groups = [self._active.get(ruleset_id, ())] if ruleset_id else list(self._active.values())
        return [a for g in groups for a in g]

    def resolve(self, ref: str, fiscal_year: int) -> CompiledRuleset:
        """The compiled revision for a request: the one named (``id@revision``), else the one active for the year."""
        ruleset_id, revision = split_ref(ref)
        if revision is not None:
            return self.pinned(ruleset_id, revision, fiscal_year)
        candidates = self.active_revisions(ruleset_id)
        chosen = next((a for a in candidates if a.years.covers(fiscal_year)), None)
        if chosen is None:
            if not candidates:
                raise UnknownRuleset(f"no active revision of ruleset {ruleset_id!r}")
            ranges = ", ".join(f"{a.revision} for {a.years.words()}" for a in candidates)
            raise UnknownRuleset(
                f"ruleset {ruleset_id} has no revision active for fiscal year {fiscal_year} ({ranges})"
            )
        return self.revision(ruleset_id, chosen.revision)

    def pinned(self, ruleset_id: str, revision: str, fiscal_year: int) -> CompiledRuleset:
        with self._db.transaction() as session:
            row = repository.get(session, ruleset_id, revision)
        if row is None:
            raise UnknownRuleset(f"no revision {revision!r} of ruleset {ruleset_id!r}")
        if row.state not in RUNNABLE_STATES:
            raise UnknownRuleset(
                f"revision {ruleset_id}@{revision} is {row.state}: only approved, active or retired revisions decide"
            )
        ranges = [YearRange(row.file_from_year, row.file_to_year)]
        if row.active_from_year is not None:
            ranges.append(YearRange(row.active_from_year, row.active_to_year))
        if not any(r.covers(fiscal_year) for r in ranges):
            raise UnknownRuleset(
                f"revision {ruleset_id}@{revision} is not effective for fiscal year {fiscal_year} "
                f"({' or '.join(r.words() for r in ranges)})"
            )
        return self.revision(ruleset_id, revision)

    def revision(self, ruleset_id: str, revision: str) -> CompiledRuleset:
        """A stored revision compiled from its stored content (cached: revisions never change)."""
        key = (ruleset_id, revision)
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is not None:
                self._compiled.move_to_end(key)
                return compiled
        with self._db.transaction() as session:
            row = repository.get(session, ruleset_id, revision)
        if row is None:
            raise UnknownRuleset(f"no revision {revision!r} of ruleset {ruleset_id!r}")
        try:
            compiled = RevisionContent.from_json(row.ruleset_json, row.policies_json, row.digest).compile()
        except CorruptRevision as error:  # stored content edited behind the app's back: never run it
            raise AppError(str(error), code=error.code) from None
        with self._lock:
            self._compiled[key] = compiled
            while len(self._compiled) > COMPILED_CACHE:
                self._compiled.popitem(last=False)
        return compiled

    # ------------------------------------------------------------------ matchers

    @contextmanager
    def lease(self, compiled: CompiledRuleset) -> Iterator[Matcher]:
        """The matcher for a revision, kept open until the caller is done with it."""
        with self._lock:
            held = self._matchers.get(compiled.digest)
            if held is None:
                held = _Held(make_matcher(compiled, self._engine))
                self._matchers[compiled.digest] = held
            held.leases += 1
        try:
            yield held.matcher
        finally:
            with self._lock:
                held.leases -= 1
                idle = held.leases == 0 and compiled.digest not in self._active_digests
                if idle and self._matchers.get(compiled.digest) is held:
                    self._drop(compiled.digest)

    def _drop(self, digest: str) -> None:
        held = self._matchers.pop(digest)
        close = getattr(held.matcher, "close", None)
        if close:
            close()

    def warm(self) -> None:
        """Load the active map and build a matcher for every active revision (start-up)."""
        self.refresh()
        for active in self.active_revisions():
            with self.lease(self.revision(active.ruleset_id, active.revision)):
                pass

    @property
    def loaded(self) -> bool:
        return self._seq is not None

    def open_matchers(self) -> int:
        with self._lock:
            return len(self._matchers)

    def close(self) -> None:
        with self._lock:
            for digest in list(self._matchers):
                self._drop(digest)
            self._compiled.clear()
            self._seq = None
