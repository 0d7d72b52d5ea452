"""The durable-rules adapter: the policy IR compiled to durable-rules rulesets in data form.

Used as ../shared/notes/durable-rules.md says is safe in a server:
- no ``durable.engine.Host`` and no module-level DSL: this adapter is its own quiet host, calling the
  C engine (``durable_rules_engine``) directly, so no timer threads ever run actions;
- one fresh session per batch of at most :data:`BATCH` lines (64), deleted in ``finally``: large
  sessions lose facts to 32-bit identity-hash collisions (issue #376), so sessions stay small and every
  batch is checked whole: each line carries its index ``n`` in the batch, every line must come back
  through the catch-all rule, and the engine must answer 0. Every rule has ``cap`` = :data:`BATCH`, so
  the engine hands each rule's matches in a session to one action (a list of frames): a batch costs one
  call per rule that matched, not one per line and rule. A batch that fails any of these is decided
  again one line per session, as before (see docs/durable-rules-findings.md);
- a lock around every call (the C engine is not thread-safe and never releases the GIL; the lock is
  process-wide, which costs nothing for that reason and keeps rulesets from interleaving);
- ruleset names carry the ruleset digest and a process-wide sequence number, and the compiled
  ruleset is freed with ``delete_ruleset`` on :meth:`close`;
- every rule also tests a ``t: "line"`` marker, so the session's own state object never matches;
- a catch-all rule (``seen``, lowest priority) matches every line, so every session runs at least one
  action before ``delete_state``: the C engine leaves a new session's action context uninitialized
  until an action starts, and ``delete_state`` frees that garbage pointer (``free(): invalid pointer``,
  reproduced on a line that matched no rule; see docs/durable-rules-findings.md);
- numbers are sent as whole numbers: money in fens, scores in millionths (scores and score literals
  have at most 6 decimals), so every comparison is exact integer arithmetic; never floats (the C
  engine rejects exponent notation such as 1e-06) and never text (text compares as text).
Numeric error codes from the C engine are turned into :class:`EngineFailure` with a plain message.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import durable_rules_engine as _engine  # type: ignore[import-not-found]
import orjson

from service.domain.conditions import Absent, And, Compare, Const, Node, Op, Or, Present
from service.domain.errors import EngineFailure, Problem
from service.domain.facts import FIELDS, FieldType, LineFacts
from service.domain.ruleset import CompiledRuleset

_MARKER = {"t": "line"}
_OPS = {Op.lt: "$lt", Op.lte: "$lte", Op.gt: "$gt", Op.gte: "$gte", Op.ne: "$neq"}
_SEQUENCE = itertools.count(1)
CATCH_ALL = "seen"
_CATCH_ALL_ONLY = frozenset({CATCH_ALL})
# Lines per durable-rules session: small enough that identity-hash collisions stay rare (and are caught),
# large enough that the per-session cost is spread (64 was the fastest of 16, 64 and 256).
BATCH = 64
# The C engine is process-global and never releases the GIL, so one lock for every call costs no
# throughput and rules out interleaving between rulesets. Rulesets dropped without close() are freed
# at the next safe point, never from __del__ (a free that lands in the middle of another ruleset's
# session, as garbage collection can make it, crashes the engine).
_ENGINE_LOCK = threading.RLock()
_PENDING_FREE: list[int] = []


def _free_lock_in_child() -> None:
    """A fork copies the lock as it was: held, if another thread of the parent held it then, and no thread of
    the child would ever release it. A forked worker (service/batchpool.py) has only the forking thread, so
    its matchers start with a free lock (matchers made before the fork keep the old one: the child makes its
    own)."""
    global _ENGINE_LOCK
    _ENGINE_LOCK = threading.RLock()


os.register_at_fork(after_in_child=_free_lock_in_child)


def _free_pending() -> None:
    while _PENDING_FREE:
        _engine.delete_ruleset(_PENDING_FREE.pop())


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _encode(messages: Any) -> str:
    """Compact JSON of engine messages (text, whole numbers, booleans): orjson, the same text as ``_ENCODE``
    (which takes what orjson refuses: whole numbers beyond 64 bits)."""
    try:
        return orjson.dumps(messages).decode()
    except orjson.JSONEncodeError:
        return _ENCODE(messages)


# Engine limits found by experiment (see the notes): keep every compiled ruleset well inside them.
MAX_RULES = 256
MAX_CONDITIONS_PER_RULE = 60


def _encoder(kind: FieldType) -> Callable[[Any], Any]:
    if kind is FieldType.money:
        return lambda v: int(v.scaleb(2))
    if kind is FieldType.score:
        return lambda v: int(v.scaleb(6))
    return lambda v: v


_ENCODERS = {name: _encoder(spec.type) for name, spec in FIELDS.items()}
_SCALE = {FieldType.money: 2, FieldType.score: 6}  # what _encoder does, inlined on the per-line path


def compile_expression(node: Node) -> dict[str, Any] | None:
    """The durable-rules expression of a normalized condition (None: the condition never holds)."""
    if isinstance(node, Const):
        return _MARKER if node.value else None
    body = _expression(node)
    return {"$and": [_MARKER, body]}


def _expression(node: Node) -> dict[str, Any]:
    if isinstance(node, Compare):
        name = FIELDS[node.field].engine_name
        right: Any = {"$m": FIELDS[node.ref].engine_name} if node.ref else _ENCODERS[node.field](node.value)
        if node.op is Op.eq:
            if node.ref:
                return {"$eq": {name: right}}
            return {name: right}
        return {_OPS[node.op]: {name: right}}
    if isinstance(node, Present):
        return {"$ex": {FIELDS[node.field].engine_name: 1}}
    if isinstance(node, Absent):
        return {"$nex": {FIELDS[node.field].engine_name: 1}}
    if isinstance(node, And):
        return {"$and": [_expression(i) for i in node.items]}
    if isinstance(node, Or):
        return {"$or": [_expression(i) for i in node.items]}
    raise EngineFailure(f"constant condition inside an expression: {node!r}")


def count_conditions(expr: Any) -> int:
    if isinstance(expr, dict):
        if set(expr) & {"$and", "$or"}:
            return sum(count_conditions(i) for v in expr.values() for i in v)
        return 1
    return 1


def limit_problems(
    ruleset: CompiledRuleset, source: str = "ruleset", policy_sources: Mapping[str, str] | None = None
) -> list[Problem]:
    """Rules and conditions beyond what durable-rules can take, in a maintainer's words.

    A rule's problem names its policy file when ``policy_sources`` says where it is.
    """
    policy_sources = policy_sources or {}
    problems: list[Problem] = []
    if len(ruleset.match_rules) > MAX_RULES:
        problems.append(
            Problem(
                ("policies",),
                (
                    f"the ruleset compiles to {len(ruleset.match_rules)} engine rules; durable-rules takes at most "
                    f"{MAX_RULES} in one ruleset: split it"
                ),
                source=source,
            )
        )
    for policy in ruleset.policies:
        for j, rule in enumerate(policy.rules):
            expr = compile_expression(rule.condition)
            if expr is not None and (n := count_conditions(expr)) > MAX_CONDITIONS_PER_RULE:
                problems.append(
                    Problem(
                        ("rules", j, "when"),
                        (
                            f"this condition has {n} comparisons; durable-rules takes at most "
                            f"{MAX_CONDITIONS_PER_RULE} in one rule: split it into several rules"
                        ),
                        record=f"policy {policy.id}",
                        source=policy_sources.get(policy.id, source),
                    )
                )
    return problems


class DurableRulesMatcher:
    """Matches lines against one compiled ruleset in durable-rules (one instance per ruleset revision)."""

    name = "durable-rules"

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.ruleset = ruleset
        definition: dict[str, Any] = {}
        used_fields: set[str] = set()
        for priority, (key, node) in enumerate(ruleset.match_rules):
            expr = compile_expression(node)
            if expr is None:
                continue
            if count_conditions(expr) > MAX_CONDITIONS_PER_RULE:
                raise EngineFailure(f"rule {key} has more than {MAX_CONDITIONS_PER_RULE} conditions")
            definition[key] = {"all": [{"m": expr}], "pri": priority, "cap": BATCH}
            used_fields |= _fields_in(node)
        definition[CATCH_ALL] = {"all": [{"m": _MARKER}], "pri": 65535, "cap": BATCH}
        if len(definition) > MAX_RULES:
            raise EngineFailure(f"ruleset {ruleset.id} compiles to more than {MAX_RULES} rules")
        self.definition = definition
        # Fields sent as they are (text, whole numbers, booleans), and decimals with the power of ten that makes
        # them whole numbers (money in fens, scores in millionths: exact, as they have at most 2 and 6 decimals).
        names = sorted(used_fields)
        self._plain = [(name, FIELDS[name].engine_name) for name in names if FIELDS[name].type not in _SCALE]
        self._scaled = [
            (name, FIELDS[name].engine_name, Decimal(10) ** _SCALE[FIELDS[name].type])
            for name in names
            if FIELDS[name].type in _SCALE
        ]
        self.engine_name = f"{ruleset.id}-{ruleset.digest.removeprefix('sha256:')[:16]}-{next(_SEQUENCE)}"
        self._lock = _ENGINE_LOCK
        self._sessions = itertools.count(1)
        self._handle: int | None = None
        if definition:
            try:
                with self._lock:
                    _free_pending()
                    self._handle = _engine.create_ruleset(self.engine_name, _ENCODE(definition))
            except Exception as error:  # the C engine raises bare numeric codes
                raise EngineFailure(f"durable-rules refused ruleset {ruleset.id}: {_describe(error)}") from None

    def match(self, facts: Sequence[LineFacts]) -> list[frozenset[str]]:
        if self._handle is None:
            return [frozenset() for _ in facts]
        with self._lock:
            _free_pending()
            out: list[frozenset[str]] = []
            for start in range(0, len(facts), BATCH):
                batch = facts[start : start + BATCH]
                out += self._match_batch(batch) or [self._match_one(f) for f in batch]
            return out

    def _message(self, facts: LineFacts, sid: str, n: int = 0) -> dict[str, Any]:
        """What durable-rules sees of a line: ``n`` first (read back from each action), then the fields."""
        message: dict[str, Any] = {"n": n, "t": "line", "sid": sid}
        get = facts.get
        for name, engine_name in self._plain:
            value = get(name)
            if value is not None:
                message[engine_name] = value
        for name, engine_name, factor in self._scaled:
            value = get(name)
            if value is not None:
                message[engine_name] = int(value * factor)
        return message

    def _match_batch(self, batch: Sequence[LineFacts]) -> list[frozenset[str]] | None:
        """The rules each line of one session matched; None when the engine did not take the batch whole."""
        handle = self._handle
        sid = str(next(self._sessions))
        fired: list[set[str]] = [set() for _ in batch]
        try:
            code, state = _engine.assert_facts(handle, _encode([self._message(f, sid, n) for n, f in enumerate(batch)]))
            started = _engine.start_action_for_state(handle, state)
            action = started[1] if started else None
            while action:  # run every action the session holds, whatever the code, before deleting it
                rule = _rule_name(action)
                for n in _FRAME_LINE.findall(action):
                    fired[int(n)].add(rule)
                action = _engine.complete_and_start_action(handle, state)
        except Exception:
            return None
        finally:
            with contextlib.suppress(Exception):  # a session never created has nothing to delete
                _engine.delete_state(handle, sid)
        if code != 0 or not all(CATCH_ALL in rules for rules in fired):
            return None  # e.g. a fact taken for one already observed (identity-hash collision)
        return [frozenset(rules - _CATCH_ALL_ONLY) for rules in fired]

    def _match_one(self, facts: LineFacts) -> frozenset[str]:
        handle = self._handle
        sid = str(next(self._sessions))
        fired: set[str] = set()
        try:
            code, state = _engine.assert_fact(handle, _encode(self._message(facts, sid)))
            if code != 0:  # the catch-all rule matches every line, so 0 is the only good answer
                raise EngineFailure(f"durable-rules returned status {code} for line {facts.get('project_id')}")
            started = _engine.start_action_for_state(handle, state)
            action = started[1] if started else None
            while action:
                fired.add(_rule_name(action))
                action = _engine.complete_and_start_action(handle, state)
        except EngineFailure:
            raise
        except Exception as error:
            raise EngineFailure(f"durable-rules failed on line {facts.get('project_id')}: {_describe(error)}") from None
        finally:
            with contextlib.suppress(Exception):  # a session never created has nothing to delete
                _engine.delete_state(handle, sid)
        fired.discard(CATCH_ALL)
        return frozenset(fired)

    def close(self) -> None:
        """Free the compiled ruleset in the C engine (superseded revisions must not leak)."""
        with self._lock:
            if self._handle is not None:
                _engine.delete_ruleset(self._handle)
                self._handle = None

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None
            _PENDING_FREE.append(handle)  # freed at the next safe point (see _free_pending)


# An action's message is '{"<rule key>":[{"m":{"n":<index>,"t":"line",…}},…]}': the frames of the facts the rule
# matched (up to its ``cap``), each the fact's own JSON text as we sent it, compact, ``n`` first (see ``_message``).
# Text values inside are JSON strings, whose quotes are escaped, so the pattern only finds the frames' heads.
_FRAME_LINE = re.compile(r'\{"m":\{"n":(\d+),')


def _rule_name(message: str) -> str:
    """The rule of an action's message; rule keys are our own [a-z0-9-] names."""
    return message[2 : message.index('"', 2)]


def _fields_in(node: Node) -> set[str]:
    if isinstance(node, Compare):
        return {node.field, *([node.ref] if node.ref else [])}
    if isinstance(node, Present | Absent):
        return {node.field}
    if isinstance(node, And | Or):
        out: set[str] = set()
        for i in node.items:
            out |= _fields_in(i)
        return out
    return set()


def _describe(error: BaseException) -> str:
    text = str(error)
    codes = {
        "102": "a priority is not a whole number",
        "105": "an unknown key",
        "202": "an unknown operator",
        "303": "too many conditions hold at once for one line",
    }
    for code, meaning in codes.items():
        if text.strip() == code or text.startswith(code + " ") or f"({code})" in text:
            return f"engine error ({meaning})"
    return "engine error"
