"""Web pages for people who are not programmers (``/ui/``): see docs/web.md.

``install(app)`` adds the pages, their error handling and the local static files to the API's app.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles


def install(app: FastAPI) -> None:
    from service.web.drafts import router as drafts_router
    from service.web.routes import STATIC_DIR, error_page, login_redirect, router
    from service.web.session import LoginRequired, WebError

    app.include_router(router)
    app.include_router(drafts_router)  # 编制方案 pages
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")

    @app.exception_handler(WebError)
    async def _web_error(request: Request, error: WebError) -> Response:
        return error_page(request, error)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        return login_redirect(request)


__all__ = ["install"]
