"""Review at volume over HTTP against a running API, the embedded broker and the store on
SQLite and PostgreSQL: who holds a mail, the audit trail, queue filters and bulk jobs,
with concurrent callers."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_api
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from test_api import PASSWORD, TOKEN, RunningApi, csrf_of, login, review_mail, seed

from mailroom import topics
from mailroom.api import auth
from mailroom.broker import EmbeddedBroker
from mailroom.events import DeadLetter, RawEmail, utcnow
from mailroom.kafka import KafkaClients
from mailroom.runner import Item
from mailroom.runtime import Runtime
from mailroom.store import MailStatus
from mailroom.store import bulk as bulk_store
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from mailroom.store.schema import bulk_jobs, feedback, mails, replies

pytestmark = pytest.mark.integration
BEARER = {"Authorization": f"Bearer {TOKEN}"}
REQUEST = "Hello, I would like to subscribe to the newsletter, please."
# the API module's servers and factory, shared rather than copied
mod_broker = test_api.mod_broker
api_factory = test_api.api_factory
store_url = test_api.store_url


@contextmanager
def session(api: RunningApi, name: str) -> Iterator[httpx.Client]:
    """A signed-in dashboard session whose JSON calls carry its CSRF token."""
    with api.client() as client:
        assert login(client, name).status_code == 303
        client.headers["X-CSRF-Token"] = csrf_of(client.get("/review").text)
        yield client


def add_reviewers(rt: Runtime, *names: str, role: str = "reviewer") -> None:
    with rt.db.begin() as conn:
        for name in names:
            auth.add_user(conn, name, PASSWORD, role)


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run the calls in threads released together; their answers in call order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def wait_job(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll the job until the store says it ended (a positive end signal, not a sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/bulk/{job_id}").json()
        if job["status"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError(f"bulk job {job_id} still running after {timeout}s")


def published(bootstrap: str, keys: set[str], timeout: float = 60) -> list[str]:
    """Every acknowledgement_queue record for ``keys`` up to an end marker produced now (one
    partition, so the marker comes after everything published before it)."""
    marker = f"end-{uuid.uuid4().hex}"
    clients = KafkaClients(bootstrap, group_prefix=f"t-{uuid.uuid4().hex[:8]}")
    producer = clients.producer()
    producer.produce(topics.ACKNOWLEDGEMENT_QUEUE, key=marker, value=b"{}")
    producer.flush(10)
    consumer = clients.consumer("count", [topics.ACKNOWLEDGEMENT_QUEUE])
    seen: list[str] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            key = (msg.key() or b"").decode()
            if key == marker:
                return seen
            if key in keys:
                seen.append(key)
        raise AssertionError("the end marker never arrived")
    finally:
        consumer.close()


# -- ownership -------------------------------------------------------------------------


def test_two_reviewers_taking_one_mail_at_once_one_holds_it_the_other_gets_409_naming_them(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    add_reviewers(rt, "bob")
    (mail_id,) = seed(rt, review_mail("Refund please"))
    with session(api, "rita") as rita, session(api, "bob") as bob:
        answers = at_once(lambda: rita.post(f"/api/mails/{mail_id}/take"),
                          lambda: bob.post(f"/api/mails/{mail_id}/take"))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 409], [a.text for a in answers]
        winner = "rita" if answers[0].status_code == 200 else "bob"
        loser = bob if winner == "rita" else rita
        refused = next(a for a in answers if a.status_code == 409)
        assert refused.json()["detail"] == f"{winner} has taken this mail"
        listed = rita.get("/api/mails").json()["items"][0]
        assert listed["holder"] == winner, "the others see who has it"

        reply = loser.post(f"/api/mails/{mail_id}/reply", json={"body": "mine"})
        assert reply.status_code == 409 and winner in reply.json()["detail"]
        assert loser.post(f"/api/mails/{mail_id}/close").status_code == 409
        assert loser.post(f"/api/mails/{mail_id}/release").status_code == 409


def test_the_mail_pages_forms_take_release_reclassify_and_close_with_the_same_rules(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    """The dashboard's form posts (post/redirect/get): the same refusals as the JSON API,
    shown on the error page, and each action in the mail's history."""
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    add_reviewers(rt, "bob")
    (mail_id,) = seed(rt, review_mail("Forms, please"))
    with session(api, "rita") as rita, session(api, "bob") as bob:
        taken = rita.post(f"/mails/{mail_id}/take")
        assert (taken.status_code, taken.headers["location"]) == (303, f"/mails/{mail_id}?done=taken")
        refused = bob.post(f"/mails/{mail_id}/close")
        assert refused.status_code == 409 and "rita has taken this mail" in refused.text
        released = rita.post(f"/mails/{mail_id}/release")
        assert released.headers["location"] == f"/mails/{mail_id}?done=released"
        moved = bob.post(f"/mails/{mail_id}/reclassify", data={"category": "billing"})
        assert moved.headers["location"] == f"/mails/{mail_id}?done=reclassified"
        closed = bob.post(f"/mails/{mail_id}/close")
        assert closed.headers["location"] == "/review?done=closed"
        history = rita.get("/api/audit", params={"mail_id": mail_id}).json()["items"]
    assert [(e["user"], e["action"]) for e in history] == [
        ("bob", "close"), ("bob", "reclassify"), ("rita", "release"), ("rita", "take")]
    with rt.db.begin() as conn:
        row = mail_store.get_mail(conn, mail_id)
    assert row is not None and (row["status"], row["category"]) == (MailStatus.CLOSED, "billing")


def test_two_reviewers_replying_at_once_queue_one_reply_and_one_clear_refusal(
        api_factory: Callable[..., RunningApi], store_url: str, mod_broker: EmbeddedBroker) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    add_reviewers(rt, "bob")
    (mail_id,) = seed(rt, review_mail("Where is my parcel?"))
    with session(api, "rita") as rita, session(api, "bob") as bob:
        answers = at_once(lambda: rita.post(f"/api/mails/{mail_id}/reply", json={"body": "From rita"}),
                          lambda: bob.post(f"/api/mails/{mail_id}/reply", json={"body": "From bob"}))
    assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
    winner = "rita" if answers[0].status_code == 202 else "bob"
    refused = next(a for a in answers if a.status_code == 409).json()["detail"]
    assert refused == f"mail is awaiting_reply by {winner}, not in review"
    assert published(mod_broker.bootstrap_servers, {mail_id}) == [mail_id], "one reply request"


def test_a_hold_lapses_can_be_released_and_operators_reassign(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    api = api_factory(database_url=store_url, review_take_minutes=10)
    rt = api.service.rt
    add_reviewers(rt, "bob")
    first, second = seed(rt, review_mail("One"), review_mail("Two"))
    with session(api, "rita") as rita, session(api, "bob") as bob, api.client(headers=BEARER) as ops:
        assert rita.post(f"/api/mails/{first}/take").status_code == 200
        assert bob.post(f"/api/mails/{first}/take").status_code == 409
        with rt.db.begin() as conn:  # rita walked away 11 minutes ago
            conn.execute(update(mails).where(mails.c.mail_id == first)
                         .values(assigned_at=utcnow() - timedelta(minutes=11)))
        assert rita.get(f"/api/mails/{first}").json()["holder"] is None, "the hold lapsed"
        assert bob.post(f"/api/mails/{first}/take").json()["detail"] == "held by bob"
        assert bob.post(f"/api/mails/{first}/release").status_code == 200
        assert bob.get(f"/api/mails/{first}").json()["holder"] is None

        assert bob.post(f"/api/mails/{second}/take", json={"to": "rita"}).status_code == 403
        assert bob.post(f"/api/mails/{second}/take").status_code == 200
        moved = ops.post(f"/api/mails/{second}/take", json={"to": "rita"})  # the token operates
        assert moved.status_code == 200 and moved.json()["detail"] == "held by rita"
        assert [m["mail_id"] for m in rita.get("/api/mails", params={"assignee": "me"}).json()["items"]] \
            == [second]
        assert [m["mail_id"] for m in rita.get("/api/mails", params={"assignee": "none"}).json()["items"]] \
            == [first]
        assert bob.get("/api/mails", params={"assignee": "me"}).json()["total"] == 0
        assert rita.post(f"/api/mails/{second}/close").status_code == 200, "the holder closes"


# -- audit -----------------------------------------------------------------------------


def test_every_human_action_is_in_the_audit_trail_and_on_the_mail_page(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    mail_id, other = seed(rt, review_mail("Invoice wrong", category="other"), review_mail("Bye"))
    with session(api, "rita") as rita:
        rita.post(f"/api/mails/{mail_id}/take")
        rita.post(f"/api/mails/{mail_id}/reclassify", json={"category": "billing"})
        rita.post(f"/api/mails/{mail_id}/release")
        assert rita.post(f"/api/mails/{mail_id}/reply", json={"body": "Fixed"}).status_code == 202
        rita.post(f"/api/mails/{other}/close")
        history = rita.get(f"/api/mails/{mail_id}").json()["history"]
        page = rita.get(f"/mails/{mail_id}").text
        everything = rita.get("/api/audit").json()
        by_action = rita.get("/api/audit", params={"action": "close"}).json()
    assert [(h["user"], h["action"]) for h in history] == [
        ("rita", "take"), ("rita", "reclassify"), ("rita", "release"), ("rita", "reply")]
    assert history[1]["before"] == {"category": "other"} and history[1]["after"] == {"category": "billing"}
    assert history[3]["before"] == {"status": "in_review"}
    assert history[3]["after"]["status"] == "awaiting_reply" and history[3]["after"]["body"] == "Fixed"
    assert 'id="history"' in page and "reclassify" in page
    assert everything["total"] == 5 and everything["items"][0]["action"] == "close"
    assert [i["mail_id"] for i in by_action["items"]] == [other]


def test_dead_letter_retry_and_discard_are_in_the_audit_trail(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    email, _ = review_mail("broken once")
    with rt.db.begin() as conn:
        dead_letter_store.record(conn, [
            DeadLetter(source_topic=topics.RAW_EMAILS, key=email.mail_id, reason="store was down",
                       payload=email.model_dump_json(), mail_id=email.mail_id),
            DeadLetter(source_topic=topics.RAW_EMAILS, key="junk", reason="bad json", payload="{"),
        ])
    with api.client(headers=BEARER) as client:
        by_key = {d["key"]: d["id"] for d in client.get("/api/dead-letters").json()["items"]}
        assert client.post(f"/api/dead-letters/{by_key[email.mail_id]}/retry").status_code == 200
        assert client.post(f"/api/dead-letters/{by_key['junk']}/discard").status_code == 200
        entries = client.get("/api/audit").json()["items"]
    assert [(e["user"], e["action"], e["target"], e["mail_id"], e["after"]) for e in entries] == [
        ("token", "dead_letter_discard", str(by_key["junk"]), None, {"status": "discarded"}),
        ("token", "dead_letter_retry", str(by_key[email.mail_id]), email.mail_id, {"status": "retried"}),
    ]


# -- finding work ----------------------------------------------------------------------


def test_queue_filters_by_language_mailbox_and_age_and_sorts_oldest_first(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    old, new = review_mail("Old"), review_mail("New")
    old = (old[0].model_copy(update={"collected_at": utcnow() - timedelta(hours=3)}), old[1])
    new = (new[0].model_copy(update={"language": "es", "folder": "Ventas"}), new[1])
    old_id, new_id = seed(rt, old, new)
    with api.client(headers=BEARER) as client:
        def ids(**params: Any) -> list[str]:
            return [m["mail_id"] for m in client.get("/api/mails", params=params).json()["items"]]
        assert ids() == [new_id, old_id] and ids(sort="oldest") == [old_id, new_id]
        assert ids(language="es") == [new_id]
        assert ids(mailbox="support@example.com/Ventas") == [new_id]
        assert ids(mailbox="support@example.com") == [new_id, old_id]
        assert ids(older_than_minutes=60) == [old_id]
        assert client.get("/api/mails", params={"sort": "sideways"}).status_code == 422


def test_the_oldest_waiting_mail_age_is_on_the_overview_and_in_metrics(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    with api.client(headers=BEARER) as client:
        def age() -> float:
            families = text_string_to_metric_families(client.get("/metrics").text)
            (family,) = [f for f in families if f.name == "email_review_oldest_age_seconds"]
            return float(family.samples[0].value)
        assert age() == 0.0, "nothing waits"
        old = review_mail("Waiting since this morning")
        seed(rt, (old[0].model_copy(update={"collected_at": utcnow() - timedelta(hours=3)}), old[1]),
             review_mail("Just now"))
        assert 3 * 3600 <= age() < 3 * 3600 + 60
    with session(api, "rita") as rita:
        assert "oldest: 3.0 h" in rita.get("/").text


# -- bulk ------------------------------------------------------------------------------


def test_bulk_reply_by_filter_queues_each_mail_once_and_a_second_run_none(
        api_factory: Callable[..., RunningApi], store_url: str, mod_broker: EmbeddedBroker) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    subs = seed(rt, *[review_mail(f"Subscribe {i}", category="subscription") for i in range(120)])
    (other,) = seed(rt, review_mail("Other", category="billing"))
    request = {"action": "reply", "template": "subscription", "filter": {"category": "subscription"}}
    with session(api, "rita") as rita:
        unknown = rita.post("/api/mails/bulk", json=request | {"template": "no_such_template"})
        assert unknown.status_code == 422 and "no_such_template" in unknown.json()["detail"]
        made = rita.post("/api/mails/bulk", json=request)
        assert made.status_code == 202, made.text
        job = wait_job(rita, made.json()["id"])
        again = wait_job(rita, rita.post("/api/mails/bulk", json=request).json()["id"])
        audit = rita.get("/api/audit", params={"target": job["id"], "action": "reply"}).json()
    assert (job["status"], job["total"], job["done"], job["skipped"]) == ("done", 120, 120, 0)
    assert (again["status"], again["total"], again["done"]) == ("done", 0, 0)
    assert audit["total"] == 120
    keys = published(mod_broker.bootstrap_servers, set(subs) | {other})
    assert sorted(keys) == sorted(subs), "each mail's reply request published once, no other mail"
    with rt.db.begin() as conn:
        row = mail_store.get_mail(conn, subs[0])
    assert row is not None and row["status"] == MailStatus.AWAITING_REPLY and row["assignee"] == "rita"


def test_two_bulk_replies_over_the_same_mails_at_once_claim_each_mail_once(
        api_factory: Callable[..., RunningApi], store_url: str, mod_broker: EmbeddedBroker) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    add_reviewers(rt, "bob")
    ids = seed(rt, *[review_mail(f"Question {i}") for i in range(100)])
    with session(api, "rita") as rita, session(api, "bob") as bob:
        body = {"action": "reply", "ids": ids, "body": "Thanks, done."}
        made = at_once(lambda: rita.post("/api/mails/bulk", json=body),
                       lambda: bob.post("/api/mails/bulk", json=body))
        jobs = [wait_job(rita, m.json()["id"]) for m in made]
    assert [j["status"] for j in jobs] == ["done", "done"]
    assert sum(j["done"] for j in jobs) == 100 and sum(j["skipped"] for j in jobs) == 100
    assert sorted(published(mod_broker.bootstrap_servers, set(ids))) == sorted(ids)


def test_bulk_reclassify_close_and_assign_with_the_rules_of_single_actions(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    add_reviewers(rt, "bob")
    ids = seed(rt, *[review_mail(f"Mail {i}") for i in range(6)])
    with session(api, "rita") as rita, session(api, "bob") as bob:
        assert bob.post(f"/api/mails/{ids[0]}/take").status_code == 200
        relabel = wait_job(rita, rita.post("/api/mails/bulk", json={
            "action": "reclassify", "ids": ids[:4], "category": "billing"}).json()["id"])
        assert (relabel["done"], relabel["skipped"]) == (4, 0)
        assert rita.post("/api/mails/bulk", json={
            "action": "assign", "ids": ids, "to": "bob"}).status_code == 403
        mine = wait_job(rita, rita.post("/api/mails/bulk", json={
            "action": "assign", "ids": ids[:3]}).json()["id"])
        assert (mine["done"], mine["skipped"]) == (2, 1), "bob's mail stays bob's"
        closed = wait_job(rita, rita.post("/api/mails/bulk", json={
            "action": "close", "filter": {"category": "billing"}}).json()["id"])
        assert (closed["total"], closed["done"], closed["skipped"]) == (4, 3, 1)
        assert rita.post("/api/mails/bulk", json={"action": "close"}).status_code == 422
        assert rita.post("/api/mails/bulk", json={"action": "reply", "ids": ids}).status_code == 422
    with rt.db.begin() as conn:
        labels = conn.execute(select(feedback.c.mail_id).where(feedback.c.label == "billing")).scalars()
        statuses = {m: (mail_store.get_mail(conn, m) or {})["status"] for m in ids}
        assert sorted(labels) == sorted(ids[:4]), "bulk reclassify feeds training"
    assert [statuses[m] for m in ids] == ["in_review", "closed", "closed", "closed",
                                          "in_review", "in_review"]


def test_an_interrupted_bulk_reply_resumes_where_it_stopped_and_answers_no_mail_twice(
        api_factory: Callable[..., RunningApi], store_url: str, mod_broker: EmbeddedBroker) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    ids = seed(rt, *[review_mail(f"Cancel {i}") for i in range(80)])
    with rt.db.begin() as conn:
        # a runner died after its first chunk's claims committed (those 50 left review) and
        # before that chunk's progress was saved; its heartbeat is a minute old
        job_id = bulk_store.create(conn, "rita", "reply", {"template": "cancellation", "body": None}, ids)
        conn.execute(update(mails).where(mails.c.mail_id.in_(ids[:50]))
                     .values(status=MailStatus.AWAITING_REPLY, assignee="rita"))
        conn.execute(update(bulk_jobs).where(bulk_jobs.c.id == job_id)
                     .values(updated_at=utcnow() - timedelta(minutes=1)))
    with session(api, "rita") as rita:
        assert 'id="job-resume"' in rita.get(f"/bulk/{job_id}").text, "the page offers to resume it"
        assert rita.post(f"/bulk/{job_id}/resume").status_code == 303
        assert rita.post(f"/api/bulk/{job_id}/resume").status_code == 409, "one runner at a time"
        job = wait_job(rita, job_id)
        assert 'id="job-resume"' not in rita.get(f"/bulk/{job_id}").text
        assert rita.post(f"/api/bulk/{job_id}/resume").status_code == 409, "a finished job stays done"
        assert rita.post("/api/bulk/nope/resume").status_code == 404
    assert (job["status"], job["done"], job["skipped"]) == ("done", 30, 50)
    assert sorted(published(mod_broker.bootstrap_servers, set(ids))) == sorted(ids[50:])


# -- conversations ---------------------------------------------------------------------


def test_an_answer_to_our_reply_goes_to_review_and_joins_its_conversation(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    """The processor links the answer (In-Reply-To: our reply's Message-ID) to the first mail
    and sends it to a person, though its text alone would be acknowledged again."""
    from mailroom.processor.service import ProcessorService

    api = api_factory(database_url=store_url, imap_email="support@example.com")
    rt = api.service.rt
    service = ProcessorService(rt)

    def process(email: RawEmail) -> None:
        item = Item(event=email, key=email.mail_id, topic=topics.RAW_EMAILS, partition=0,
                    offset=0, received=time.monotonic())
        asyncio.run(service.handle_batch([item]))

    def customer_mail(subject: str, **fields: Any) -> RawEmail:
        mail_id = uuid.uuid4().hex
        return RawEmail(mail_id=mail_id, account="support@example.com", folder="INBOX", uid=1,
                        message_id=f"<{mail_id}@example.org>", subject=subject,
                        from_addr="ana@example.org", return_path="<ana@example.org>",
                        to=["support@example.com"], language="en", text=REQUEST, **fields)

    first = customer_mail("Subscription to the newsletter")
    process(first)
    with rt.db.begin() as conn:
        assert (mail_store.get_mail(conn, first.mail_id) or {})["status"] == MailStatus.AWAITING_REPLY
        # what the responder records when it sends the acknowledgement
        ours = "<0123456789abcdef0123456789abcdef.reply@example.com>"
        conn.execute(replies.insert().values(
            mail_id=first.mail_id, template="subscription", recipient="ana@example.org",
            message_id=ours, status="sent", attempts=1, created_at=utcnow(), sent_at=utcnow()))
        mail_store.set_status(conn, first.mail_id, MailStatus.REPLIED)
    answer = customer_mail("Re: Subscription to the newsletter", in_reply_to=ours,
                           references=[first.message_id, ours])
    process(answer)
    stranger = customer_mail("Subscription to the newsletter, too")
    process(stranger)

    with rt.db.begin() as conn:
        row = mail_store.get_mail(conn, answer.mail_id) or {}
        first_row = mail_store.get_mail(conn, first.mail_id) or {}
        stranger_row = mail_store.get_mail(conn, stranger.mail_id) or {}
    assert row["status"] == MailStatus.IN_REVIEW, "never a second automatic reply"
    assert "answers a reply we sent: a person reads it" in row["reasons"]
    assert row["thread_id"] == first_row["thread_id"] == first.mail_id
    assert stranger_row["status"] == MailStatus.AWAITING_REPLY and stranger_row["thread_id"] is None

    with api.client(headers=BEARER) as client:
        queue = client.get("/api/mails").json()
        detail = client.get(f"/api/mails/{answer.mail_id}").json()
    with session(api, "rita") as rita:
        page = rita.get(f"/mails/{answer.mail_id}").text
    assert [(m["mail_id"], m["thread_count"]) for m in queue["items"]] == [(answer.mail_id, 2)]
    assert [(t["kind"], t["mail_id"]) for t in detail["thread"]] == [
        ("mail", first.mail_id), ("reply", first.mail_id), ("mail", answer.mail_id)]
    assert 'id="thread"' in page and "our reply" in page


def test_the_queue_shows_one_row_per_conversation_with_its_count(
        api_factory: Callable[..., RunningApi], store_url: str) -> None:
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    first, second, third, alone = (review_mail(s) for s in ("Help", "Re: Help", "Re: Re: Help", "Other"))
    ids = seed(rt, first, second, third, alone)
    with rt.db.begin() as conn:
        conn.execute(update(mails).where(mails.c.mail_id.in_(ids[:3])).values(thread_id=ids[0]))
    with api.client(headers=BEARER) as client:
        rows = client.get("/api/mails").json()
        every = client.get("/api/mails", params={"conversations": "false"}).json()
    assert rows["total"] == 2
    assert [(m["mail_id"], m["thread_count"]) for m in rows["items"]] == [(ids[3], 1), (ids[2], 3)]
    assert every["total"] == 4
    add_reviewers(rt, "bob")
    with session(api, "rita") as rita, session(api, "bob") as bob:
        assert rita.post(f"/api/mails/{ids[2]}/take").status_code == 200
        assert bob.post(f"/api/mails/{ids[0]}/take").json()["detail"] == "rita has taken this mail", \
            "taking a mail takes its conversation"
        assert rita.get(f"/api/mails/{ids[1]}").json()["holder"] == "rita"
        assert rita.post(f"/api/mails/{ids[2]}/release").status_code == 200
        assert [rita.get(f"/api/mails/{m}").json()["holder"] for m in ids[:3]] == [None, None, None]
        made = rita.post("/api/mails/bulk", json={"action": "close", "filter": {}})
        job = wait_job(rita, made.json()["id"])
        assert job["total"] == 2, "a bulk action by filter takes the rows the queue shows"
        rows = rita.get("/api/mails").json()
    assert [(m["mail_id"], m["thread_count"]) for m in rows["items"]] == [(ids[1], 3)], \
        "the conversation's next mail in review shows up"


def test_replies_the_broker_does_not_take_go_back_to_review_and_the_audit_says_why(
        tmp_path: Path) -> None:
    """Single and bulk: with no broker to acknowledge the reply requests (the real client,
    pointed at a closed port), every mail waits in review again, unheld, and its history says
    why; the bulk job stops with its count taken back."""
    from confluent_kafka import Producer

    from mailroom.api import bulk, review
    from mailroom.errors import RetryLater
    from mailroom.runtime import build_runtime
    from mailroom.settings import Settings

    rt = build_runtime(Settings(_env_file=None, mailroom_data_dir=tmp_path / "data",  # type: ignore[call-arg]
                                kafka_bootstrap_servers="127.0.0.1:1"))
    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500})
    try:
        single, *many = seed(rt, *[review_mail(f"Question {i}") for i in range(3)])
        with pytest.raises(RetryLater):
            review.request_reply(rt, producer, single, "rita", None, "Thanks, done.")
        with rt.db.begin() as conn:
            job_id = bulk_store.create(conn, "rita", "reply", {"body": "Thanks, done."}, many)
        bulk.run(rt, producer, job_id)
        with rt.db.begin() as conn:
            job = bulk_store.get(conn, job_id)
            rows = [mail_store.get_mail(conn, m) for m in (single, *many)]
            total, undone = review.audit_entries(conn, action="reply_undone")
    finally:
        rt.db.dispose()
    assert job is not None and (job["status"], job["done"]) == ("failed", 0)
    assert [(r or {}).get("status") for r in rows] == [MailStatus.IN_REVIEW] * 3
    assert [(r or {}).get("assignee") for r in rows] == [None] * 3
    assert total == 3 and {e.mail_id for e in undone} == {single, *many}
    assert {e.target for e in undone} == {None, job_id}
