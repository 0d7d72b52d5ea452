"""The service's database and engines for commands that record (``recommend --record``, ``draft …``).

A command that records acts as the holder of ``--token`` (or ``$BUDGET_RULES_TOKEN``), with the same
roles as the HTTP API, on the database the settings name (``BUDGET_RULES_DATABASE_URL``): migrated and
with the shipped rulesets installed, exactly as one worker of the service has it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.api.state import AppState
    from service.audit import Actor


@contextmanager
def service_state() -> Iterator[AppState]:
    """The configured database (migrated, shipped rulesets installed) and its engines."""
    from service.api.engines import Engines
    from service.api.rulesets.service import install_shipped
    from service.api.state import AppState
    from service.settings import Settings
    from service.storage.db import Database, upgrade_database

    settings = Settings()
    upgrade_database(settings.database_url)
    db = Database(settings.database_url)
    state = AppState(settings=settings, db=db, engines=Engines(db))
    try:
        install_shipped(db, settings.audit_secret)
        yield state
    finally:
        state.engines.close()
        db.dispose()


def authenticated(state: AppState, token: str | None, *roles: str) -> Actor:
    """The actor holding ``token``, if its role is one of ``roles`` (else Unauthenticated / Forbidden)."""
    from service.api.errors import Forbidden, Unauthenticated
    from service.api.tokens.service import authenticate

    if not token:
        raise Unauthenticated("recording needs your API token: --token TOKEN or $BUDGET_RULES_TOKEN")
    with state.db.transaction() as session:
        actor = authenticate(session, token)
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role!r} may not do this; allowed: {', '.join(roles)}")
    return actor
