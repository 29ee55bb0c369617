"""Builds the FastAPI application: monitoring, the review API and the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mailroom.api import audit, bulk, dashboard, review_pages, routes, shadow
from mailroom.api.auth import MalformedCredential
from mailroom.api.review import ReviewError
from mailroom.api.security import (
    AuthGate,
    BodyLimit,
    LoginRequired,
    SecurityHeaders,
    login_url,
    unauthorized,
    unavailable,
)
from mailroom.api.state import ApiState
from mailroom.errors import RetryLater
from mailroom.runtime import Runtime

DESCRIPTION = """\
Monitoring (`/health`, `/stats`, `/metrics`) and the review API of mailroom.

Authenticate with a bearer token from `API_TOKENS` (`Authorization: Bearer ...`) or with the
dashboard's session cookie (then unsafe requests need the `X-CSRF-Token` header).
`/health*` and `/metrics` + `/stats` are open unless `API_OPEN_HEALTH` / `API_OPEN_METRICS`
are false.
"""


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc served from files in the fastapi-offline wheel: no CDN, works offline."""
    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-static", StaticFiles(directory=assets), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="mailroom API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="mailroom API",
                              redoc_js_url="/docs-static/redoc.standalone.js",
                              redoc_favicon_url="/docs-static/favicon.png", with_google_fonts=False)


def create_app(rt: Runtime) -> FastAPI:
    state = ApiState.build(rt)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title="mailroom", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.mailroom = state
    _offline_docs(app)
    # the last added runs first: headers on every answer, then who is asking, then the body
    app.add_middleware(BodyLimit, limit=rt.settings.api_max_body_bytes)
    app.add_middleware(AuthGate)
    app.add_middleware(SecurityHeaders, always_https=rt.settings.api_cookie_secure is True)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(routes.monitor)
    app.include_router(routes.reviews)
    app.include_router(bulk.router)
    app.include_router(audit.router)
    app.include_router(dashboard.router)
    app.include_router(review_pages.router)
    app.include_router(shadow.api)
    app.include_router(shadow.router)

    @app.exception_handler(ReviewError)
    async def review_error(_request: Request, exc: ReviewError) -> Response:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RetryLater)
    async def retry_later(_request: Request, exc: RetryLater) -> Response:
        # the store or Kafka is down: the caller may try again; nothing was half done
        return unavailable(exc)

    @app.exception_handler(MalformedCredential)
    async def malformed(_request: Request, _exc: MalformedCredential) -> Response:
        return unauthorized("malformed credential")

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    return app
