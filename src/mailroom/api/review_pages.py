"""The dashboard's forms for review at volume: take and release a mail, start a bulk job
from the queue, and the job's progress page (post/redirect/get, CSRF as every form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from mailroom.api import bulk, review
from mailroom.api.dashboard import PageUser, State, act, back, failure, render
from mailroom.api.models import BulkFilter, BulkRequest
from mailroom.errors import RetryLater

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=512)]


@router.post("/mails/{mail_id}/take")
def take(request: Request, mail_id: str, state: State, user: PageUser) -> Response:
    minutes = state.rt.settings.review_take_minutes
    return act(request, user, state, lambda conn: review.take(conn, mail_id, user, None, minutes),
               f"/mails/{mail_id}", "taken")


@router.post("/mails/{mail_id}/release")
def release(request: Request, mail_id: str, state: State, user: PageUser) -> Response:
    minutes = state.rt.settings.review_take_minutes
    return act(request, user, state, lambda conn: review.release(conn, mail_id, user, minutes),
               f"/mails/{mail_id}", "released")


@router.post("/review/bulk")
async def start_bulk(request: Request, state: State, user: PageUser) -> Response:
    """The queue's bulk form: the ticked ids, or (``scope=filter``) every mail the page's
    filter matches."""
    form = await request.form()
    ids = [str(v) for v in form.getlist("ids")][:state.rt.settings.review_bulk_max]

    def field(name: str) -> str | None:
        value = str(form.get(name, "") or "").strip()
        return value[:512] or None

    try:
        age = field("f_older_than_minutes")
        filt = BulkFilter(status=field("f_status") or "in_review", category=field("f_category"),
                          q=field("f_q"), language=field("f_language"),
                          mailbox=field("f_mailbox"), assignee=field("f_assignee"),
                          older_than_minutes=float(age) if age else None)
        action = field("action") or ""
        if action not in ("reply", "reclassify", "close", "assign"):
            raise review.ReviewError(422, "pick an action")
        if form.get("scope") != "filter" and not ids:
            raise review.ReviewError(422, "tick some mails, or 'all matching this filter'")
        req = BulkRequest.model_validate({
            "action": action, "ids": None if form.get("scope") == "filter" else ids,
            "filter": filt if form.get("scope") == "filter" else None,
            "template": field("template"), "category": field("category"), "to": field("to")})
        job = bulk.start(state.rt, state.producer(), req, user)
    except ValueError:
        return failure(request, user, review.ReviewError(422, "the bulk form is not valid"))
    except (review.ReviewError, RetryLater) as exc:
        return failure(request, user, exc)
    return back(f"/bulk/{job.id}")


@router.get("/bulk/{job_id}")
def bulk_page(request: Request, job_id: str, state: State, user: PageUser) -> HTMLResponse:
    try:
        job = bulk.read(state.rt, job_id)
    except (review.ReviewError, RetryLater) as exc:
        return failure(request, user, exc)
    return render(request, "bulk.html", user, job=job, stalled=bulk.stalled(job))


@router.post("/bulk/{job_id}/resume")
def resume_bulk(request: Request, job_id: str, state: State, user: PageUser) -> Response:
    try:
        bulk.resume(state.rt, state.producer(), job_id)
    except (review.ReviewError, RetryLater) as exc:
        return failure(request, user, exc)
    return back(f"/bulk/{job_id}")
