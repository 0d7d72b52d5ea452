"""The error tree of the domain core, each with a stable machine code.

    BudgetRulesError                  code                 meaning
    ├── InvalidInput                  invalid_input        request records are wrong (all problems listed)
    ├── InvalidPolicy                 invalid_policy       a policy or ruleset file is wrong
    ├── UnknownRuleset                unknown_ruleset      the named ruleset does not exist
    └── EngineFailure                 engine_failure       the decision engine failed (never bad input)

Adapters (CLI, HTTP) map these to exit statuses and HTTP responses in one place each.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, located precisely.

    ``loc`` is the JSON path (e.g. ``("projects", 3, "requested")``); ``record`` names the record for
    people (a project_id, department_id or row), ``source`` the file when it came from one.
    """

    loc: tuple[str | int, ...]
    message: str
    record: str | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.loc)
        head = f"{self.source}: " if self.source else ""
        who = f"{self.record}: " if self.record else ""
        return f"{head}{who}{where}: {self.message}" if where else f"{head}{who}{self.message}"


class BudgetRulesError(Exception):
    code = "budget_rules_error"


@dataclass
class InvalidInput(BudgetRulesError):
    problems: list[Problem] = field(default_factory=list)
    code = "invalid_input"

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)


@dataclass
class InvalidPolicy(BudgetRulesError):
    problems: list[Problem] = field(default_factory=list)
    code = "invalid_policy"

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)


class UnknownRuleset(BudgetRulesError):
    code = "unknown_ruleset"


class EngineFailure(BudgetRulesError):
    code = "engine_failure"
