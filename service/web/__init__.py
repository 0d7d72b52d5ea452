"""Web pages for people who are not programmers (``/ui/``): see docs/web.md.

``install(app)`` adds the pages, their error handling and the local static files to the API's app.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles


def install(app: FastAPI) -> None:
    from service.web.accounts import fallback_router
    from service.web.accounts import router as accounts_router
    from service.web.analyst import router as analyst_router
    from service.web.audit_browser import router as audit_router
    from service.web.disclosure import router as disclosure_router
    from service.web.drafts import router as drafts_router
    from service.web.exports import router as exports_router
    from service.web.maintainer import router as maintainer_router
    from service.web.routes import STATIC_DIR, error_page, login_redirect, router
    from service.web.session import LoginRequired, WebError

    app.include_router(router)
    app.include_router(drafts_router)  # 编制方案 pages
    app.include_router(accounts_router)  # sign-in, sign-out, the admin's account page (service/web/accounts.py)
    app.include_router(audit_router)  # the audit records browser (service/web/audit_browser.py)
    app.include_router(exports_router)  # the Chinese xlsx and 编制说明 PDF downloads (service/web/exports.py)
    app.include_router(maintainer_router)  # issue 15: parameter form, review, return, history
    app.include_router(analyst_router)  # issue 15: what-ifs from the page
    app.include_router(disclosure_router)  # issue 15: disclosure review page
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.include_router(fallback_router)  # any other /ui/ address: the pages' 404 (service/web/accounts.py)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, error: WebError) -> Response:
        return error_page(request, error)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        return login_redirect(request)


__all__ = ["install"]
