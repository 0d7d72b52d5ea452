"""The role matrix, declared once: which roles may do what (docs/api.md, "Endpoints and roles").

The HTTP API (``service/api/deps.py``), the pages (``service/web/session.py``) and the command lines
take their role lists from here and enforce them through :func:`require` / :func:`permits`; nothing
else spells out a role list.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from service.app.errors import Forbidden

if TYPE_CHECKING:
    from service.audit import Actor

ROLES = ("compiler", "analyst", "maintainer", "approver", "auditor", "admin")

# Capability            roles that have it
COMPILERS = ("compiler",)  # recommend, import datasets, review disclosures
DATASET_READERS = ("compiler", "analyst")
DECISION_READERS = ("compiler", "auditor")
AUDITORS = ("auditor",)  # verify the chain, replay decisions
ADMINS = ("admin",)  # tokens
# Ruleset revisions (docs/rulesets.md): maintainers upload and propose, approvers approve, activate and
# retire (never their own proposal), every role but admin reads.
MAINTAINERS = ("maintainer",)
APPROVERS = ("approver",)
RULESET_READERS = ("maintainer", "approver", "auditor", "compiler", "analyst")
IMPACT_PREVIEWERS = ("maintainer", "approver", "analyst")
# Simulation jobs (docs/simulations.md, "HTTP API"): analysts start them; analysts and auditors read them.
SIMULATION_RUNNERS = ("analyst",)
SIMULATION_READERS = ("analyst", "auditor")
# Budget drafts (docs/drafts.md): compilers make, adjust and submit; approvers approve or return.
DRAFT_MAKERS = ("compiler",)
DRAFT_CHECKERS = ("approver",)
DRAFT_READERS = ("compiler", "approver", "auditor")

MATRIX: dict[str, tuple[str, ...]] = {
    "COMPILERS": COMPILERS,
    "DATASET_READERS": DATASET_READERS,
    "DECISION_READERS": DECISION_READERS,
    "AUDITORS": AUDITORS,
    "ADMINS": ADMINS,
    "MAINTAINERS": MAINTAINERS,
    "APPROVERS": APPROVERS,
    "RULESET_READERS": RULESET_READERS,
    "IMPACT_PREVIEWERS": IMPACT_PREVIEWERS,
    "SIMULATION_RUNNERS": SIMULATION_RUNNERS,
    "SIMULATION_READERS": SIMULATION_READERS,
    "DRAFT_MAKERS": DRAFT_MAKERS,
    "DRAFT_CHECKERS": DRAFT_CHECKERS,
    "DRAFT_READERS": DRAFT_READERS,
}


def permits(role: str, allowed: Collection[str]) -> bool:
    """May a holder of ``role`` do what ``allowed`` (one of the capabilities above) guards?"""
    return role in allowed


def require(actor: Actor, allowed: Collection[str]) -> Actor:
    """``actor`` if their role is allowed, else :class:`Forbidden` naming the roles that are."""
    if not permits(actor.role, allowed):
        raise Forbidden(f"role {actor.role!r} may not do this; allowed: {', '.join(allowed)}")
    return actor
