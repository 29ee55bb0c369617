"""The web dashboard: server-rendered pages (Jinja2, autoescaped) plus one small JS file.

Every action is a plain form post carrying the session's CSRF token, followed by a
redirect (post/redirect/get), so the pages work with the keyboard and without script;
the script only draws the live charts and adds list shortcuts.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection

from mailroom.api import auth, review
from mailroom.api.security import MAIL_FRAME_CSP, page_user
from mailroom.api.state import ApiState, api_state
from mailroom.errors import RetryLater

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)))
LOGIN_COOKIE = "mailroom_login"
NOTICES = {
    "replied": "Reply queued: the responder sends it.",
    "closed": "Mail closed.",
    "reclassified": "Category saved (and recorded as feedback).",
    "retried": "Dead letter published again.",
    "discarded": "Dead letter discarded.",
    "taken": "You hold this mail: others see it is yours.",
    "released": "Released: the mail is back in the queue for anybody.",
}

State = Annotated[ApiState, Depends(api_state)]
PageUser = Annotated[auth.User, Depends(page_user)]
router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site paths: never ``//host`` or ``https://...`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def render(request: Request, name: str, user: auth.User | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return templates.TemplateResponse(
        request, name, {"user": user, "notice": notice, "page": name.removesuffix(".html"), **context},
        status_code=status_code)


def back(path: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


def failure(request: Request, user: auth.User, error: review.ReviewError | RetryLater) -> HTMLResponse:
    if isinstance(error, RetryLater):
        log.warning("page answered 503: %s", error.reason)  # the reason is for the log only
        return render(request, "error.html", user, status_code=503,
                      message="Not done: the service is busy or recovering; try again in a moment.")
    return render(request, "error.html", user, status_code=error.status, message=error.detail)


def act(request: Request, user: auth.User, state: ApiState, change: Callable[[Connection], object],
        path: str, done: str) -> Response:
    """A form's change in one transaction, then back to ``path`` with its notice (post/
    redirect/get), or the error page saying why it was not done."""
    try:
        with state.rt.db.begin() as conn:
            change(conn)
    except (review.ReviewError, RetryLater) as exc:
        return failure(request, user, exc)
    return back(path, done=done)


# -- login ----------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, state: State, next: str = "/") -> HTMLResponse:
    with state.rt.db.begin() as conn:
        has_users = bool(state.config_users) or auth.has_store_users(conn)
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, has_users=has_users, next=safe_next(next),
                      login_token=token, error=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", max_age=3600,
                        secure=state.cookie_secure(request))
    return response


@router.post("/login")
def login(
    request: Request, state: State,
    username: Annotated[str, Form(max_length=128)], password: Annotated[str, Form(max_length=1024)],
    login_token: Annotated[str, Form(max_length=256)] = "", next: Annotated[str, Form()] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not auth.same_secret(login_token, expected):
        return render(request, "login.html", None, status_code=403, has_users=True,
                      next=safe_next(next), login_token=expected, error="The form expired; try again.")
    name = username.strip()
    client = request.client.host if request.client else ""
    if state.throttle.blocked(name, client):
        return render(request, "login.html", None, status_code=429, has_users=True,
                      next=safe_next(next), login_token=expected,
                      error="Too many failed attempts; wait a few minutes.")
    if not state.hashing.acquire():
        return render(request, "login.html", None, status_code=503, has_users=True,
                      next=safe_next(next), login_token=expected,
                      error="Too many logins at once; try again in a moment.")
    try:
        with state.rt.db.begin() as conn:
            found = auth.authenticate(state.config_users, conn, name, password)
            cookie = auth.open_session(conn, state.signer, *found) if found else ""
    finally:
        state.hashing.release()
    if not cookie:
        state.throttle.failed(name, client)
        return render(request, "login.html", None, status_code=401, has_users=True,
                      next=safe_next(next), login_token=expected, username=name,
                      error="Wrong user name or password.")
    state.throttle.succeeded(name)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(auth.SESSION_COOKIE, cookie, httponly=True,
                        samesite="strict", max_age=auth.SESSION_SECONDS,
                        secure=state.cookie_secure(request))
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(state: State, user: PageUser) -> Response:
    """End the session in the store (the cookie alone no longer works) and drop the cookie."""
    with state.rt.db.begin() as conn:
        auth.end_session(conn, user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


# -- pages ----------------------------------------------------------------------------


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon: an empty answer keeps browsers from logging a 404 on every page."""
    return Response(status_code=204)


@router.get("/")
def overview(request: Request, state: State, user: PageUser) -> HTMLResponse:
    return render(request, "overview.html", user, oldest_waiting=state.rt.oldest_review_age())


@router.get("/review")
def review_queue(request: Request, state: State, user: PageUser, status: str = "in_review",
                 category: str = "", q: str = "", offset: int = 0, language: str = "",
                 mailbox: str = "", assignee: str = "", older_than_minutes: str = "",
                 sort: str = "newest") -> HTMLResponse:
    """The queue with its filters in the address (a bookmark saves a filter)."""
    wanted = None if status == "all" else status
    query = q[:200]
    try:
        age = max(0.0, float(older_than_minutes)) if older_than_minutes else None
    except ValueError:
        age = None
    shown = {"status": status, "category": category, "language": language[:16],
             "mailbox": mailbox[:512], "assignee": assignee[:128],
             "older_than_minutes": older_than_minutes if age is not None else "",
             "sort": "oldest" if sort == "oldest" else "newest"}
    f = review.MailFilter(wanted, category or None, query, 50, max(0, offset),
                          language=shown["language"] or None, mailbox=shown["mailbox"] or None,
                          assignee=shown["assignee"] or None, older_than_minutes=age,
                          oldest_first=shown["sort"] == "oldest")
    with state.rt.db.begin() as conn:
        found = review.list_mails(conn, f, user.name, state.rt.settings.review_take_minutes)
        cats = review.categories(conn)
    return render(request, "review.html", user, mails=found, categories=cats, f=shown,
                  status=status, category=category, q=query, offset=max(0, offset),
                  query=urlencode(shown | {"q": query}),
                  templates=review.reply_templates(state.rt.settings))


@router.get("/mails/{mail_id}")
def mail_page(request: Request, mail_id: str, state: State, user: PageUser) -> HTMLResponse:
    try:
        with state.rt.db.begin() as conn:
            mail = review.read_mail(conn, mail_id, state.rt.settings.review_take_minutes)
            cats = review.categories(conn)
        tpls = review.reply_templates(state.rt.settings)
    except (review.ReviewError, RetryLater) as exc:
        return failure(request, user, exc)
    return render(request, "mail.html", user, mail=mail, categories=cats, templates=tpls)


@router.get("/mails/{mail_id}/frame")
def mail_frame(request: Request, mail_id: str, state: State, user: PageUser) -> Response:
    """The sanitised HTML part alone, for a sandboxed iframe with its own strict CSP."""
    try:
        with state.rt.db.begin() as conn:
            html = review.mail_html(conn, mail_id)
    except (review.ReviewError, RetryLater) as exc:
        return failure(request, user, exc)
    page = "<!doctype html><meta charset=utf-8><base target=_blank>" + html
    return HTMLResponse(page, headers={"content-security-policy": MAIL_FRAME_CSP})


@router.post("/mails/{mail_id}/reply")
def reply(request: Request, mail_id: str, state: State, user: PageUser,
          template: Annotated[str, Form(max_length=128)] = "",
          body: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    try:
        review.request_reply(state.rt, state.producer(), mail_id, user.name, template or None, body or None)
    except (review.ReviewError, RetryLater) as exc:
        return failure(request, user, exc)
    return back(f"/mails/{mail_id}", done="replied")


@router.post("/mails/{mail_id}/reclassify")
def reclassify(request: Request, mail_id: str, state: State, user: PageUser,
               category: Annotated[str, Form(max_length=64)]) -> Response:
    return act(request, user, state, lambda conn: review.reclassify(conn, mail_id, category, user.name),
               f"/mails/{mail_id}", "reclassified")


@router.post("/mails/{mail_id}/close")
def close(request: Request, mail_id: str, state: State, user: PageUser) -> Response:
    minutes = state.rt.settings.review_take_minutes
    return act(request, user, state, lambda conn: review.close(conn, mail_id, user.name, minutes),
               "/review", "closed")


@router.get("/dead-letters")
def dead_letter_page(request: Request, state: State, user: PageUser) -> HTMLResponse:
    with state.rt.db.begin() as conn:
        total, items = review.list_dead_letters(conn, 200, 0)
    return render(request, "dead_letters.html", user, total=total, letters=items)


@router.post("/dead-letters/{letter_id}/{action}")
def dead_letter_action(request: Request, letter_id: int, action: str, state: State,
                       user: PageUser) -> Response:
    try:
        review.require_operator(user)
        if action == "retry":
            done = review.retry_dead_letter(state.rt, state.producer(), letter_id, user.name)
        elif action == "discard":
            with state.rt.db.begin() as conn:
                done = review.discard_dead_letter(conn, letter_id, user.name)
        else:
            raise review.ReviewError(404, "unknown action")
    except (review.ReviewError, RetryLater) as exc:
        return failure(request, user, exc)
    return back("/dead-letters", done=done)
