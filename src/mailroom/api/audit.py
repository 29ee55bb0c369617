"""Ownership and the audit trail over JSON: take, release and (operators) assign a mail;
``GET /api/audit`` lists what people did."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mailroom.api import review
from mailroom.api.auth import User
from mailroom.api.models import ActionResult, AuditList, TakeRequest
from mailroom.api.security import api_user
from mailroom.api.state import ApiState, api_state

State = Annotated[ApiState, Depends(api_state)]
Authed = Annotated[User, Depends(api_user)]
router = APIRouter(prefix="/api", tags=["review"])


@router.post("/mails/{mail_id}/take", response_model=ActionResult,
             responses={403: {}, 404: {}, 409: {"description": "someone else holds it"}})
def take(mail_id: str, state: State, user: Authed, body: TakeRequest | None = None) -> ActionResult:
    """Hold a mail in review (others see who has it; the hold lapses after
    REVIEW_TAKE_MINUTES); operators give it to someone with ``to``."""
    with state.rt.db.begin() as conn:
        name = review.take(conn, mail_id, user, body.to if body else None,
                           state.rt.settings.review_take_minutes)
    return ActionResult(mail_id=mail_id, status="in_review", detail=f"held by {name}")


@router.post("/mails/{mail_id}/release", response_model=ActionResult,
             responses={404: {}, 409: {"description": "someone else holds it"}})
def release(mail_id: str, state: State, user: Authed) -> ActionResult:
    """Give a held mail back to the queue (one's own; operators: anybody's)."""
    with state.rt.db.begin() as conn:
        review.release(conn, mail_id, user, state.rt.settings.review_take_minutes)
    return ActionResult(mail_id=mail_id, status="in_review", detail="released")


@router.get("/audit", response_model=AuditList)
def audit(state: State, _user: Authed,
          user: Annotated[str | None, Query(max_length=128)] = None,
          action: Annotated[str | None, Query(max_length=32)] = None,
          mail_id: Annotated[str | None, Query(max_length=64)] = None,
          target: Annotated[str | None,
                            Query(max_length=64, description="dead letter or bulk job id")] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 100,
          offset: Annotated[int, Query(ge=0)] = 0) -> AuditList:
    """What people did (newest first): who, when, which mail, before and after."""
    with state.rt.db.begin() as conn:
        total, items = review.audit_entries(conn, user=user, action=action, mail_id=mail_id,
                                            target=target, limit=limit, offset=offset)
    return AuditList(total=total, items=items)
