"""Builds the FastAPI application: monitoring, the review API and the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mailroom.api import dashboard, routes
from mailroom.api.review import ReviewError
from mailroom.api.security import LoginRequired, SecurityHeaders, login_url
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


def create_app(rt: Runtime) -> FastAPI:
    state = ApiState.build(rt)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title="mailroom", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.mailroom = state
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(routes.monitor)
    app.include_router(routes.reviews)
    app.include_router(dashboard.router)

    @app.exception_handler(ReviewError)
    async def review_error(_request: Request, exc: ReviewError) -> Response:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RetryLater)
    async def unavailable(_request: Request, exc: RetryLater) -> Response:
        # the store or Kafka is down: the caller may try again; nothing was half done
        return JSONResponse({"detail": f"try again later: {exc.reason}"}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    return app
