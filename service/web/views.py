"""Small read helpers the pages need that the API does not expose as one call.

Each calls the use cases of ``service/app/`` (or ``service.audit``); none decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from service import audit
from service.app import rulesets as rulesets
from service.app.errors import AppError
from service.app.state import AppState
from service.domain.errors import Problem, UnknownRuleset
from service.policyfiles import default_root


def problem_text(problem: Problem) -> str:
    where = ".".join(str(part) for part in problem.loc)
    parts = [p for p in (problem.source, where, problem.record and f"[{problem.record}]") if p]
    return f"{' '.join(parts)}: {problem.message}" if parts else problem.message


def project_rulesets(state: AppState) -> list[str]:
    """The ids of the stored rulesets that judge project lines (what a recommendation may name)."""
    rows = rulesets.list_revisions(state.db)
    return sorted({r.ruleset_id for r in rows if r.subject == "project_lines"})


def verify_chain(state: AppState) -> tuple[audit.Verification, audit.Head]:
    with state.db.transaction() as session:
        verification = audit.verify(session, state.settings.audit_secret)
        try:
            return verification, audit.head(session)
        except audit.AuditTampered:  # the head row is gone: the verification already says so
            return verification, audit.Head(seq=0, count=0, chain_hash=verification.head_hash)


def diff_or_none(state: AppState, ruleset_id: str, revision: str) -> dict[str, Any] | None:
    """The diff against the revision it replaced (issue 15), else the one active for its first year; or None."""
    from service.app.ruleset_forms import review

    try:
        return rulesets.diff(
            state.engines, state.db, ruleset_id, revision, review(state.db, ruleset_id, revision).replaced
        )
    except (AppError, UnknownRuleset):
        return None


def revision_actions(role: str, revision_state: str) -> list[str]:
    """The life-cycle steps this role may take on a revision in this state (docs/rulesets.md)."""
    actions = []
    if role == "maintainer" and revision_state in ("draft", "retired"):
        actions.append("propose")
    if role == "approver":
        if revision_state == "proposed":
            actions.append("approve")
        if revision_state == "approved":
            actions.append("activate")
        if revision_state != "retired":
            actions.append("retire")
    return actions


@dataclass(frozen=True)
class Scenario:
    id: str
    title: dict[str, str]


def shipped_scenarios() -> list[Scenario]:
    out = []
    for path in sorted((default_root() / "simulations").glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(raw, dict):
            title = raw.get("title")
            title = title if isinstance(title, dict) else {}
            out.append(Scenario(id=path.stem, title={k: str(v) for k, v in title.items()}))
    return out


def result_table(result: dict[str, Any]) -> dict[str, Any]:
    """The options of the result table's filters (departments, statuses, flags) and each line's change."""
    lines = result.get("lines") or []
    names = {d.get("department_id"): d.get("name") for d in (result.get("summary") or {}).get("departments") or []}
    departments = sorted({line["department_id"] for line in lines})
    flags: set[str] = set()
    rows = []
    for line in lines:
        codes = [_flag_code(f) for f in line.get("flags") or []]
        flags.update(codes)
        change = Decimal(str(line.get("recommended", "0"))) - Decimal(str(line.get("requested", "0")))
        rows.append({"line": line, "flags": codes, "change": str(change)})
    return {
        "rows": rows,
        "departments": [(d, names.get(d) or "") for d in departments],
        "statuses": sorted({line["status"] for line in lines}),
        "flags": sorted(flags),
        "department_names": names,
    }


def _flag_code(flag: Any) -> str:
    if isinstance(flag, dict):
        return str(flag.get("code") or flag.get("flag") or flag.get("id") or flag)
    return str(flag)
