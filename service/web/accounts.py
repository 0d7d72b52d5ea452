"""Sign-in, sign-out and the admin's account page (``/ui/login``, ``/ui/logout``, ``/ui/admin``).

Handlers read the form and call the use cases of ``service.app.accounts``; see docs/accounts.md.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from service.app import accounts
from service.app.errors import Unauthenticated
from service.web.routes import render, shown
from service.web.session import (
    ADMINS,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    WebError,
    check_csrf,
    check_login_csrf,
    login_csrf,
    login_nonce,
    need,
    state_of,
    viewer_of,
)

router = APIRouter(include_in_schema=False)
FORM_LIMITS: dict[str, Any] = {"max_files": 0, "max_fields": 10, "max_part_size": 64 * 1024}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _secure(request: Request) -> bool:
    """HTTPS as the browser sees it (behind a trusted proxy, X-Forwarded-Proto has set the scheme)."""
    return request.url.scheme == "https"


def safe_next(target: str) -> str:
    return target if target.startswith("/ui/") and "//" not in target and "\\" not in target else "/ui/"


def _text(form: Any, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _password(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _same_origin(request: Request) -> bool:
    """A browser's Origin (sent with every cross-site POST) must be this site's own, when there is one."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.url.netloc and parts.scheme == request.url.scheme


def _login_page(request: Request, target: str, status: int = 200, failed: bool = False) -> HTMLResponse:
    nonce = request.cookies.get(LOGIN_COOKIE)
    fresh = not nonce or len(nonce) > 100
    if fresh:
        nonce = login_nonce()
    assert nonce is not None
    response = render(
        request, "login.html", status=status, next=target, failed=failed, csrf=login_csrf(state_of(request), nonce)
    )
    if fresh:
        response.set_cookie(
            LOGIN_COOKIE, nonce, max_age=3600, path="/ui/", httponly=True, samesite="strict", secure=_secure(request)
        )
    return response


@router.get("/ui/login")
def login_page(request: Request, next: str = "/ui/") -> HTMLResponse:
    return _login_page(request, safe_next(next))


@router.post("/ui/login")
async def login(request: Request) -> Response:
    form = await request.form(**FORM_LIMITS)
    if not _same_origin(request) or not check_login_csrf(request, form):
        raise WebError(403, "err_csrf")
    name = _text(form, "username", 100)
    password = _password(form, "password")
    target = safe_next(_text(form, "next") or "/ui/")
    state = state_of(request)
    settings = state.settings
    policy = accounts.Policy(settings.login_max_failures, settings.login_lock_minutes, settings.session_hours)

    def check() -> accounts.SignedIn | None:
        try:
            return accounts.sign_in(state.db, settings.audit_secret, name, password, policy)
        except Unauthenticated:
            return None

    signed = await run_in_threadpool(check) if name and password else None
    if signed is None:
        return _login_page(request, target, status=401, failed=True)
    response = _redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        signed.cookie,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/ui/", httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    viewer = viewer_of(request)
    if viewer is not None:
        form = await request.form(**FORM_LIMITS)
        check_csrf(viewer, form)
        state = state_of(request)
        cookie = request.cookies.get(SESSION_COOKIE, "")
        everywhere = bool(form.get("everywhere"))
        await run_in_threadpool(accounts.sign_out, state.db, state.settings.audit_secret, cookie, everywhere)
    response = _redirect("/ui/login")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


# ------------------------------------------------------------------ the admin's page


@router.get("/ui/admin")
def admin_page(request: Request) -> HTMLResponse:
    need(request, ADMINS)
    state = state_of(request)
    with shown(), state.db.transaction() as session:
        users = accounts.list_users(session)
        tokens = accounts.list_tokens(session)
    return render(
        request,
        "admin.html",
        users=users,
        tokens=tokens,
        roles=accounts.ROLES,
        locked={u.name for u in users if accounts.is_locked(u)},
        done=request.query_params.get("done"),
        min_password=accounts.MIN_PASSWORD,
    )


async def _admin_form(request: Request) -> tuple[Any, Any]:
    viewer = need(request, ADMINS)
    form = await request.form(**FORM_LIMITS)
    check_csrf(viewer, form)
    return viewer, form


@router.post("/ui/admin/users")
async def admin_create_user(request: Request) -> Response:
    viewer, form = await _admin_form(request)
    state = state_of(request)
    name, role, password = _text(form, "username", 200), _text(form, "role", 40), _password(form, "password")

    def run() -> None:
        with shown(), state.db.transaction() as session:
            accounts.create_user(session, state.settings.audit_secret, viewer.actor, name, role, password)

    await run_in_threadpool(run)
    return _redirect("/ui/admin?done=user_created")


ADMIN_ACTIONS = ("disable", "enable", "password", "role")


@router.post("/ui/admin/users/{name}/{action}")
async def admin_user_action(request: Request, name: str, action: str) -> Response:
    if action not in ADMIN_ACTIONS:
        raise WebError(404, "err_404")
    viewer, form = await _admin_form(request)
    state = state_of(request)
    secret = state.settings.audit_secret
    password, role = _password(form, "password"), _text(form, "role", 40)

    def run() -> None:
        with shown(), state.db.transaction() as session:
            if action in ("disable", "enable"):
                accounts.set_disabled(session, secret, viewer.actor, name, disabled=action == "disable")
            elif action == "password":
                accounts.reset_password(session, secret, viewer.actor, name, password)
            else:
                accounts.change_role(session, secret, viewer.actor, name, role)

    await run_in_threadpool(run)
    return _redirect(f"/ui/admin?done=user_{action}")


@router.post("/ui/admin/tokens/{name}/revoke")
async def admin_revoke_token(request: Request, name: str) -> Response:
    viewer, _ = await _admin_form(request)
    state = state_of(request)
    from service.app.tokens import revoke_token

    def run() -> None:
        with shown(), state.db.transaction() as session:
            revoke_token(session, name, secret=state.settings.audit_secret, actor=viewer.actor)

    await run_in_threadpool(run)
    return _redirect("/ui/admin?done=token_revoked")


# Included after the static files: any other /ui/ address is the pages' own 404, never the API's JSON.
fallback_router = APIRouter(include_in_schema=False)


@fallback_router.get("/ui/{path:path}")
def not_a_page(path: str) -> Response:
    raise WebError(404, "err_404")
