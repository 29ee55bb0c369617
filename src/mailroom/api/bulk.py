"""Bulk actions: one request applies reply-with-template, reclassify, close or assign to many
mails, as a job with progress in the store.

The targets are fixed when the job is made (the ids given, or what the filter matches
then). A runner thread works through them in chunks; each mail goes through the same
conditional update as a single action (``assignments.leave_review`` for replies and
closes), so a mail answered meanwhile, held by someone else, or handled by an earlier or
concurrent run of the same job is skipped: a repeated or resumed bulk reply never answers a
mail twice. Replies then go to the responder on ``acknowledgement_queue`` like single
reviewer replies, and its ledger sends each at most once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Annotated, Any

from confluent_kafka import Producer
from fastapi import APIRouter, Depends
from sqlalchemy import Connection

from mailroom import topics
from mailroom.api import review
from mailroom.api.auth import User
from mailroom.api.models import BulkJob, BulkRequest
from mailroom.api.review import ReviewError
from mailroom.api.security import api_user
from mailroom.api.state import ApiState, api_state
from mailroom.events import as_utc, utcnow
from mailroom.kafka import Outgoing, produce_all
from mailroom.runtime import Runtime
from mailroom.store import MailStatus, assignments
from mailroom.store import audit as audit_store
from mailroom.store import bulk as bulk_store
from mailroom.store import mails as mail_store
from mailroom.store import review as review_store

log = logging.getLogger(__name__)
CHUNK = 50  # mails per transaction and per batch of reply requests
STALE_SECONDS = 30.0  # a running job without progress this long may be resumed by another runner

State = Annotated[ApiState, Depends(api_state)]
Authed = Annotated[User, Depends(api_user)]
router = APIRouter(prefix="/api", tags=["review"])


def job_view(row: dict[str, Any]) -> BulkJob:
    return BulkJob.model_validate({k: v for k, v in row.items() if k != "mail_ids"})


def check_request(req: BulkRequest, user: User) -> dict[str, Any]:
    """The job's parameters (pure); 422/403 for a request that cannot run."""
    if (req.ids is None) == (req.filter is None):
        raise ReviewError(422, "give either ids or a filter")
    if req.action == "reply":
        template = (req.template or "").strip()
        body = (req.body or "").strip()
        if not body and (not template or template == review.MANUAL_TEMPLATE):
            raise ReviewError(422, "write a text, or pick a template to send")
        return {"template": template or None, "body": body or None}
    if req.action == "reclassify":
        if not (req.category or "").strip():
            raise ReviewError(422, "category is empty")
        return {"category": (req.category or "").strip()}
    if req.action == "assign":
        to = (req.to or "").strip() or user.name
        if to != user.name and not user.operates:
            raise ReviewError(403, "only operators and admins may assign mails to someone else")
        return {"to": to, "force": user.operates}
    return {}


def targets(rt: Runtime, req: BulkRequest, user: User) -> list[str]:
    limit = rt.settings.review_bulk_max
    if req.ids is not None:
        ids = list(dict.fromkeys(i for i in req.ids if i))
        if len(ids) > limit:
            raise ReviewError(422, f"at most {limit} mails per bulk action")
        return ids
    assert req.filter is not None
    f = req.filter
    wanted = None if f.status == "all" else (f.status or MailStatus.IN_REVIEW.value)
    mail_filter = review.MailFilter(wanted, f.category, f.q, language=f.language, mailbox=f.mailbox,
                                    assignee=f.assignee, older_than_minutes=f.older_than_minutes,
                                    conversations=f.conversations)
    with rt.db.begin() as conn:
        return review.matching_ids(conn, mail_filter, user.name, limit + 1,
                                   rt.settings.review_take_minutes)[:limit]


def start(rt: Runtime, producer: Producer, req: BulkRequest, user: User) -> BulkJob:
    """Make the job (and its audit entry) and start its runner."""
    params = check_request(req, user)
    template = params.get("template")
    if template and not params.get("body") and template not in review.reply_templates(rt.settings):
        raise ReviewError(422, f"no reply template {template!r}")
    ids = targets(rt, req, user)
    with rt.db.begin() as conn:
        job_id = bulk_store.create(conn, user.name, req.action, params, ids)
        audit_store.record(conn, user.name, "bulk", target=job_id,
                           after={"action": req.action, "total": len(ids), **params})
        row = bulk_store.get(conn, job_id)
    assert row is not None
    spawn(rt, producer, job_id)
    return job_view(row)


def resume(rt: Runtime, producer: Producer, job_id: str) -> BulkJob:
    """Run an interrupted job on from where it stopped (its runner died or stalled)."""
    stale = utcnow() - timedelta(seconds=STALE_SECONDS)
    with rt.db.begin() as conn:
        row = bulk_store.get(conn, job_id)
        if row is None:
            raise ReviewError(404, "no such bulk job")
        if row["status"] != bulk_store.RUNNING:
            raise ReviewError(409, f"bulk job is {row['status']}")
        if not bulk_store.claim(conn, job_id, stale):
            raise ReviewError(409, "bulk job is running; it can be resumed when it stalls")
    spawn(rt, producer, job_id)
    return job_view(row)


def stalled(job: BulkJob) -> bool:
    """A running job whose runner has not reported for STALE_SECONDS (it may be resumed)."""
    return (job.status == bulk_store.RUNNING
            and (utcnow() - as_utc(job.updated_at)).total_seconds() > STALE_SECONDS)


def read(rt: Runtime, job_id: str) -> BulkJob:
    with rt.db.begin() as conn:
        row = bulk_store.get(conn, job_id)
    if row is None:
        raise ReviewError(404, "no such bulk job")
    return job_view(row)


def spawn(rt: Runtime, producer: Producer, job_id: str) -> threading.Thread:
    thread = threading.Thread(target=run, args=(rt, producer, job_id), name=f"bulk-{job_id[:8]}",
                              daemon=True)
    thread.start()
    return thread


def run(rt: Runtime, producer: Producer, job_id: str) -> None:
    """Work through the job's mails from its saved position, chunk by chunk."""
    with rt.db.begin() as conn:
        job = bulk_store.get(conn, job_id)
    if job is None:
        return
    ids: list[str] = list(job["mail_ids"])
    try:
        for start_at in range(int(job["position"]), len(ids), CHUNK):
            apply_chunk(rt, producer, job, ids[start_at:start_at + CHUNK], start_at)
    except Exception as exc:  # the job's edge: record the failure, leave the mails consistent
        log.exception("bulk job %s failed", job_id)
        with rt.db.begin() as conn:
            bulk_store.finish(conn, job_id, error=f"stopped: {type(exc).__name__}")
        return
    with rt.db.begin() as conn:
        bulk_store.finish(conn, job_id)


def apply_chunk(rt: Runtime, producer: Producer, job: dict[str, Any], ids: list[str],
                start_at: int) -> None:
    """One chunk in one transaction (its progress included); reply requests are published
    after it commits, and taken back if the broker refuses them."""
    action, params, user = job["action"], job["params"], job["created_by"]
    cutoff = review.take_cutoff(rt.settings.review_take_minutes)
    done: list[str] = []
    entries: list[dict[str, Any]] = []
    outgoing: list[Outgoing] = []
    with rt.db.begin() as conn:
        states = assignments.states(conn, ids)
        for mail_id in ids:
            state = states.get(mail_id)
            if state is None:
                continue
            after = _apply_one(conn, action, params, user, cutoff, mail_id, state, outgoing)
            if after is not None:
                done.append(mail_id)
                entries.append({"user": user, "action": action, "mail_id": mail_id,
                                "target": job["id"], "before": _before(action, state),
                                "after": after})
        audit_store.record_many(conn, entries)
        bulk_store.advance(conn, job["id"], start_at + len(ids), len(done), len(ids) - len(done))
    if not outgoing:
        return
    try:
        produce_all(producer, outgoing)
    except Exception:
        with rt.db.begin() as conn:
            claimed = [str(o.key) for o in outgoing]
            review.undo_replies(conn, claimed, user, target=job["id"])
            bulk_store.advance(conn, job["id"], start_at, -len(claimed), 0)
        raise


def _before(action: str, state: dict[str, Any]) -> dict[str, Any]:
    if action == "reclassify":
        return {"category": state["category"]}
    if action == "assign":
        return {"assignee": state["assignee"]}
    return {"status": state["status"]}


def _apply_one(conn: Connection, action: str, params: dict[str, Any], user: str, cutoff: datetime,
               mail_id: str, state: dict[str, Any], outgoing: list[Outgoing]) -> dict[str, Any] | None:
    """Apply the action to one mail; its audit ``after``, or None when skipped."""
    if action == "reply":
        row = mail_store.get_mail(conn, mail_id)
        if row is None or row["status"] != MailStatus.IN_REVIEW:
            return None
        routed = review.build_reply(row, user, params.get("template"), params.get("body"))
        if not review.claim_for_reply(conn, mail_id, user, cutoff, routed):
            return None
        outgoing.append(Outgoing(topics.ACKNOWLEDGEMENT_QUEUE, mail_id, routed.to_bytes()))
        return {"status": MailStatus.AWAITING_REPLY.value, "template": routed.decision.template}
    if action == "close":
        if not assignments.leave_review(conn, mail_id, user, cutoff, MailStatus.CLOSED):
            return None
        return {"status": MailStatus.CLOSED.value}
    if action == "reclassify":
        label = str(params["category"])
        if state["category"] == label:
            return None
        review_store.record_label(conn, mail_id, label, user)
        return {"category": label}
    if action == "assign":
        to = str(params["to"])
        if not assignments.take(conn, mail_id, to, cutoff, force=bool(params.get("force"))):
            return None
        return {"assignee": to}
    raise ReviewError(422, f"unknown bulk action {action!r}")


@router.post("/mails/bulk", response_model=BulkJob, status_code=202,
             responses={403: {}, 422: {}})
def create_bulk(body: BulkRequest, state: State, user: Authed) -> BulkJob:
    """Apply one action to the given ids or to every mail a filter matches, as a job."""
    return start(state.rt, state.producer(), body, user)


@router.get("/bulk/{job_id}", response_model=BulkJob, responses={404: {}})
def get_bulk(job_id: str, state: State, _user: Authed) -> BulkJob:
    """A bulk job's progress."""
    return read(state.rt, job_id)


@router.post("/bulk/{job_id}/resume", response_model=BulkJob, status_code=202,
             responses={404: {}, 409: {}})
def resume_bulk(job_id: str, state: State, _user: Authed) -> BulkJob:
    """Run an interrupted job on (mails it already handled are skipped, never done twice)."""
    return resume(state.rt, state.producer(), job_id)
