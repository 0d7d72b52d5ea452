"""Compiled rulesets and their matchers, once per worker process (never at import time).

Each ruleset id is compiled once; each compiled digest gets one durable-rules matcher, which holds its
own lock. The cache itself is guarded by a lock so concurrent first requests compile only once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from service.domain.decision import Matcher
from service.domain.ruleset import CompiledRuleset
from service.engine import EngineName, make_matcher
from service.policyfiles import Catalog

DEFAULT_RULESET = "wuding-county"


class Engines:
    def __init__(self, engine: EngineName = "durable-rules", catalog: Callable[[], Catalog] = Catalog.load) -> None:
        self._engine: EngineName = engine
        self._load_catalog = catalog
        self._catalog: Catalog | None = None
        self._compiled: dict[str, CompiledRuleset] = {}
        self._matchers: dict[str, Matcher] = {}
        self._lock = threading.Lock()

    def ruleset(self, ruleset_id: str) -> CompiledRuleset:
        with self._lock:
            compiled = self._compiled.get(ruleset_id)
            if compiled is None:
                if self._catalog is None:
                    self._catalog = self._load_catalog()
                compiled = self._catalog.compile(ruleset_id)
                self._compiled[ruleset_id] = compiled
            return compiled

    def matcher(self, compiled: CompiledRuleset) -> Matcher:
        with self._lock:
            matcher = self._matchers.get(compiled.digest)
            if matcher is None:
                matcher = make_matcher(compiled, self._engine)
                self._matchers[compiled.digest] = matcher
            return matcher

    def warm(self, ruleset_id: str = DEFAULT_RULESET) -> None:
        self.matcher(self.ruleset(ruleset_id))

    @property
    def loaded(self) -> bool:
        return bool(self._matchers)

    def close(self) -> None:
        with self._lock:
            for matcher in self._matchers.values():
                close = getattr(matcher, "close", None)
                if close:
                    close()
            self._matchers.clear()
            self._compiled.clear()
