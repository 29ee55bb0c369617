"""Shadow mode on the dashboard and the API: the would-be replies and their live precision.

``AUTOREPLY_MODE=shadow`` sends nothing; these pages show what would have been sent and
how often reviewers agreed (see ``store/shadow.py`` for how a verdict is read).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from mailroom.api import auth
from mailroom.api.dashboard import render
from mailroom.api.security import api_user, page_user
from mailroom.api.state import ApiState, api_state
from mailroom.store import shadow as shadow_store

State = Annotated[ApiState, Depends(api_state)]
router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["review"])


class WouldBeReplyInfo(BaseModel):
    mail_id: str
    subject: str
    from_addr: str
    template: str = Field(description="the template an automatic reply would have used")
    category: str
    status: str
    collected_at: datetime
    verdict: shadow_store.Verdict = Field(description="agree, disagree or pending (reviewers)")


class ShadowReport(BaseModel):
    mode: str = Field(description="AUTOREPLY_MODE now")
    total: int = Field(description="would-be replies recorded")
    agree: int
    disagree: int
    pending: int
    precision: float | None = Field(description="agree / (agree + disagree); null before any verdict")
    items: list[WouldBeReplyInfo]


def read_report(state: ApiState, limit: int, offset: int) -> ShadowReport:
    with state.rt.db.begin() as conn:
        summary = shadow_store.summary(conn)
        items = shadow_store.would_be_replies(conn, limit, offset)
    return ShadowReport(
        mode=state.rt.settings.autoreply_mode.value, total=summary.total, agree=summary.agree,
        disagree=summary.disagree, pending=summary.pending, precision=summary.precision,
        items=[WouldBeReplyInfo.model_validate(item, from_attributes=True) for item in items])


@api.get("/shadow", response_model=ShadowReport)
def get_shadow(state: State, _user: Annotated[auth.User, Depends(api_user)],
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Annotated[int, Query(ge=0)] = 0) -> ShadowReport:
    """AUTOREPLY_MODE=shadow: the replies mailroom would have sent, newest first, with the
    reviewers' verdict on each and the precision so far."""
    return read_report(state, limit, offset)


@router.get("/shadow")
def shadow_page(request: Request, state: State,
                user: Annotated[auth.User, Depends(page_user)], offset: int = 0) -> HTMLResponse:
    report = read_report(state, 100, max(0, offset))
    return render(request, "shadow.html", user, report=report, offset=max(0, offset))
