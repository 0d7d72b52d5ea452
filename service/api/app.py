"""The composition root of the HTTP service: ``create_app(settings)``.

Each worker process builds its own state at start-up (never at import): the database engine, the
migrations applied, the default ruleset compiled into its durable-rules matcher.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from service.api.audit.endpoints import router as audit_router
from service.api.authfirst import AuthenticateFirstMiddleware, VerifiedTokens
from service.api.datasets.endpoints import router as datasets_router
from service.api.decisions.endpoints import router as decisions_router
from service.api.drafts.endpoints import router as drafts_router
from service.api.errors import install_error_handlers
from service.api.health.endpoints import router as health_router
from service.api.limits import BodyLimitMiddleware
from service.api.openapi import install_openapi
from service.api.rulesets.endpoints import router as rulesets_router
from service.api.rulesets.forms import router as ruleset_forms_router
from service.api.security import RateLimitMiddleware, SecurityHeadersMiddleware
from service.api.simulations.endpoints import router as simulations_router
from service.api.tokens.endpoints import router as tokens_router
from service.app import simulations as simulations
from service.app.engines import Engines
from service.app.rulesets import install_shipped
from service.app.state import AppState
from service.settings import Settings
from service.storage.db import Database, upgrade_database
from service.web import install as install_web


def create_app(settings: Settings | None = None, *, migrate: bool = True, warm: bool = True) -> FastAPI:
    settings = settings or Settings()
    db = Database(settings.database_url)
    state = AppState(settings=settings, db=db, engines=Engines(db))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await run_in_threadpool(upgrade_database, settings.database_url)
            await run_in_threadpool(simulations.sweep_app, app)  # jobs whose worker died while we were down
        if warm:
            await run_in_threadpool(install_shipped, db, settings.audit_secret)
            await run_in_threadpool(state.engines.warm)
        _freeze_startup_objects()
        try:
            yield
        finally:
            gc.unfreeze()
            state.engines.close()
            state.db.dispose()

    app = FastAPI(
        title="Budget Rules",
        version="1",
        description="Performance-budgeting recommendations with explanations and an audit trail.",
        lifespan=lifespan,
    )
    app.state.budget_rules = state
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    verified = VerifiedTokens()  # authentication before any body is read; the limiter trusts only these
    app.add_middleware(AuthenticateFirstMiddleware, verified=verified)
    app.add_middleware(
        RateLimitMiddleware,
        per_minute=settings.rate_limit_per_minute,
        burst=settings.rate_limit_burst,
        verified=verified,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    if proxies := [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]:
        # Outermost: X-Forwarded-For/-Proto from these peers only set the client address and the scheme
        # (so the rate limit sees real clients and the session cookie is Secure behind a TLS proxy).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    app.include_router(ruleset_forms_router)  # issue 15; first: it also serves POST …/revisions and …/approve
    routers = (health_router, decisions_router, datasets_router, audit_router, tokens_router, rulesets_router)
    for router in (*routers, simulations_router):
        app.include_router(router)
    app.include_router(drafts_router)
    install_openapi(app)  # every error status in the envelope, on every operation (service/api/openapi.py)
    install_web(app)  # the web pages under /ui/ and their local static files (service/web, docs/web.md)
    return app


def _freeze_startup_objects() -> None:
    """Keep the objects alive at start-up out of every later garbage collection (``gc.freeze``).

    A worker holds about 190,000 tracked objects once started (modules, schemas, the compiled rulesets).
    Every few dozen large recommendations CPython runs a full collection that walks all of them: measured
    140-260 ms on this machine, added to whichever request happens to trigger it (the p99 of a 1,000-line
    POST). Frozen, they are skipped; what requests allocate is still collected as before. Cycles among the
    frozen objects that become garbage later are not reclaimed until shutdown unfreezes them (reference
    counting still frees everything else): start-up state is long-lived by design.
    """
    gc.collect()
    gc.freeze()


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory``: every worker process builds its own app from the environment."""
    return create_app(Settings())
