"""JSON routes: health, stats, metrics and the review API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mailroom.api import health as health_checks
from mailroom.api import review
from mailroom.api.auth import User
from mailroom.api.models import (
    ActionResult,
    DeadLetterList,
    DeadLetterResult,
    Health,
    MailDetail,
    MailList,
    Probe,
    ReclassifyRequest,
    ReplyRequest,
    Stats,
)
from mailroom.api.security import api_user, open_or_user, optional_user
from mailroom.api.state import ApiState, api_state
from mailroom.api.stats import read_stats

State = Annotated[ApiState, Depends(api_state)]
Authed = Annotated[User, Depends(api_user)]
MaybeUser = Annotated[User | None, Depends(optional_user)]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"description": "a check failed"}}

monitor = APIRouter(tags=["monitoring"])
reviews = APIRouter(prefix="/api", tags=["review"])


@monitor.get("/health", response_model=Health, responses={503: {"model": Health}},
             dependencies=[Depends(open_or_user("api_open_health"))])
async def get_health(state: State, user: MaybeUser) -> JSONResponse:
    """Kafka, SMTP, the store and each IMAP folder's last collector round (cached a few
    seconds); hosts, addresses and errors only for authenticated callers."""
    result = await state.health.get(lambda: health_checks.full_health(state.rt))
    shown = result if user is not None else health_checks.public_view(result)
    return JSONResponse(shown.model_dump(mode="json"), status_code=200 if result.status == "OK" else 503)


@monitor.get("/health/live", response_model=Probe)
async def get_live() -> Probe:
    """The process is up and serving (always open: it shows nothing)."""
    return Probe(status="OK")


@monitor.get("/health/ready", response_model=Probe, responses={503: {"model": Probe}})
async def get_ready(state: State, user: MaybeUser) -> JSONResponse:
    """This process can work: the store and Kafka answer, and no server a stage here needs
    (the responder's SMTP, the collector's IMAP) is down. Details for authenticated callers."""
    checks = await health_checks.readiness(state.rt)
    body = health_checks.probe_body(checks, detailed=user is not None)
    return JSONResponse(body.model_dump(), status_code=503 if body.status != "OK" else 200)


@monitor.get("/stats", response_model=Stats, dependencies=[Depends(open_or_user("api_open_metrics"))])
def get_stats(state: State) -> Stats:
    """Counts per topic/status/category, queue sizes, latency percentiles, per mailbox.

    At most `API_STATS_CACHE_SECONDS` old: every open dashboard shares one reading.
    """
    return state.stats.get(lambda: read_stats(state.rt))


@monitor.get("/metrics", response_class=Response,
             dependencies=[Depends(open_or_user("api_open_metrics"))],
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}})
def get_metrics(state: State) -> Response:
    """Prometheus exposition of the one registry."""
    return Response(generate_latest(state.rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@reviews.get("/mails", response_model=MailList)
def list_mails(
    state: State, _user: Authed,
    status: Annotated[str | None, Query(description="default in_review; 'all' for every status")] = None,
    category: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="text in subject, sender or body")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    language: Annotated[str | None, Query(max_length=16)] = None,
    mailbox: Annotated[str | None, Query(max_length=512, description="account or account/folder")] = None,
    assignee: Annotated[str | None, Query(max_length=128, description="a name, 'me' or 'none'")] = None,
    older_than_minutes: Annotated[float | None, Query(ge=0)] = None,
    sort: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    conversations: Annotated[bool, Query(description="one row per conversation, its newest mail")] = True,
) -> MailList:
    """Mails in review (or another status), filtered by category, text, language, mailbox,
    who holds them and age; newest or oldest first."""
    wanted = None if status == "all" else (status or "in_review")
    f = review.MailFilter(wanted, category, q, limit, offset, language=language, mailbox=mailbox,
                          assignee=assignee, older_than_minutes=older_than_minutes,
                          oldest_first=sort == "oldest", conversations=conversations)
    with state.rt.db.begin() as conn:
        return review.list_mails(conn, f, _user.name, state.rt.settings.review_take_minutes)


@reviews.get("/mails/{mail_id}", response_model=MailDetail, responses={404: {}})
def get_mail(mail_id: str, state: State, _user: Authed) -> MailDetail:
    """One mail: headers, text, sanitised HTML, attachments and replies."""
    with state.rt.db.begin() as conn:
        return review.read_mail(conn, mail_id, state.rt.settings.review_take_minutes)


@reviews.post("/mails/{mail_id}/reply", response_model=ActionResult, status_code=202,
              responses={404: {}, 409: {}, 422: {}})
def reply(mail_id: str, body: ReplyRequest, state: State, user: Authed) -> ActionResult:
    """Queue a reply (template or free text) through the responder."""
    status = review.request_reply(state.rt, state.producer(), mail_id, user.name, body.template, body.body)
    return ActionResult(mail_id=mail_id, status=status, detail="reply queued")


@reviews.post("/mails/{mail_id}/reclassify", response_model=ActionResult, responses={404: {}})
def reclassify(mail_id: str, body: ReclassifyRequest, state: State, user: Authed) -> ActionResult:
    """Set the mail's category and record it as training feedback."""
    with state.rt.db.begin() as conn:
        status = review.reclassify(conn, mail_id, body.category, user.name)
    return ActionResult(mail_id=mail_id, status=status, detail=f"category {body.category}")


@reviews.post("/mails/{mail_id}/close", response_model=ActionResult, responses={404: {}, 409: {}})
def close(mail_id: str, state: State, user: Authed) -> ActionResult:
    """Close a mail in review without replying."""
    with state.rt.db.begin() as conn:
        status = review.close(conn, mail_id, user.name, state.rt.settings.review_take_minutes)
    return ActionResult(mail_id=mail_id, status=status, detail="closed")


@reviews.get("/dead-letters", response_model=DeadLetterList)
def dead_letters(state: State, _user: Authed,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0)] = 0) -> DeadLetterList:
    """Open dead letters, newest first."""
    with state.rt.db.begin() as conn:
        total, items = review.list_dead_letters(conn, limit, offset)
    return DeadLetterList(total=total, items=items)


@reviews.post("/dead-letters/{letter_id}/retry", response_model=DeadLetterResult,
              responses={403: {}, 404: {}, 409: {}})
def retry_dead_letter(letter_id: int, state: State, user: Authed) -> DeadLetterResult:
    """Publish the payload to its source topic again (operators and admins)."""
    review.require_operator(user)
    return DeadLetterResult(id=letter_id,
                            status=review.retry_dead_letter(state.rt, state.producer(), letter_id,
                                                            user.name))


@reviews.post("/dead-letters/{letter_id}/discard", response_model=DeadLetterResult,
              responses={403: {}, 404: {}, 409: {}})
def discard_dead_letter(letter_id: int, state: State, user: Authed) -> DeadLetterResult:
    """Drop a dead letter for good (operators and admins)."""
    review.require_operator(user)
    with state.rt.db.begin() as conn:
        return DeadLetterResult(id=letter_id,
                                status=review.discard_dead_letter(conn, letter_id, user.name))
