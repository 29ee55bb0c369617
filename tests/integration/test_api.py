"""The API against real servers: a running ApiService (uvicorn) driven over HTTP with httpx,
the embedded broker, Dovecot, aiosmtpd and the state store on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from mailroom import topics
from mailroom.api import auth
from mailroom.broker import EmbeddedBroker
from mailroom.events import Attachment, DeadLetter, Decision, RawEmail, Route, RoutedEmail
from mailroom.kafka import KafkaClients
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus, mailbox_health
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from mailroom.store.schema import feedback
from servers import Dovecot, RunningApi, SmtpSink

pytestmark = [
    pytest.mark.integration,
    # the test sink requires AUTH on plain loopback on purpose; aiosmtpd warns about it
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

TOKEN = "test-token-0123456789"
PASSWORD = "reviewer-pass-1"
XSS_SUBJECT = '<script>alert("subject")</script> Factura'
XSS_NAME = '"><svg onload=alert("att")>.pdf'
XSS_HTML = ('<p>Hello <b>team</b></p><script>alert("html")</script>'
            '<img src="x" onerror="alert(\'img\')"><a href="javascript:alert(1)">click</a>')


# -- servers shared by this module (starting them per test would dominate the run) ------


@pytest.fixture(scope="module")
def mod_broker() -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker(port=0)
    bootstrap = b.start()
    KafkaClients(bootstrap).create_topics(1, 1)
    yield b
    b.stop()


@pytest.fixture(scope="module")
def mod_dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mod_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def settings_for(tmp: Path, *, broker: EmbeddedBroker, dovecot: Dovecot | None = None,
                 sink: SmtpSink | None = None, database_url: str = "", **over: Any) -> Settings:
    values: dict[str, Any] = {
        "mailroom_data_dir": tmp / "data", "kafka_bootstrap_servers": broker.bootstrap_servers,
        "database_url": database_url, "api_port": 0, "api_tokens": TOKEN,
        "api_session_secret": "s" * 32,
    }
    if dovecot is not None:
        values |= {"imap_server": dovecot.host, "imap_port": dovecot.port, "imap_security": "none",
                   "imap_email": "support@example.com", "imap_password": "support-pass"}
    if sink is not None:
        values |= {"smtp_server": "127.0.0.1", "smtp_port": sink.port, "smtp_security": "none",
                   "smtp_email": sink.user, "smtp_password": sink.password}
    return Settings(_env_file=None, **(values | over))  # type: ignore[call-arg]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Empty (the SQLite default) or a fresh PostgreSQL database from the ``pg_url`` fixture."""
    return "" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.fixture
def api_factory(tmp_path: Path, mod_broker: EmbeddedBroker) -> Iterator[Callable[..., RunningApi]]:
    """Start an API for given settings; everything started is stopped after the test."""
    started: list[tuple[RunningApi, Runtime]] = []

    def start(**kwargs: Any) -> RunningApi:
        rt = build_runtime(settings_for(tmp_path, broker=mod_broker, **kwargs))
        with rt.db.begin() as conn:
            auth.add_user(conn, "rita", PASSWORD)
        api = RunningApi(rt).__enter__()
        started.append((api, rt))
        return api

    yield start
    for api, rt in started:
        api.__exit__()
        rt.db.dispose()


def review_mail(
    subject: str = "Question about my order", *, html: str = "", text: str = "Hello",
    attachments: list[Attachment] | None = None, category: str = "other",
) -> tuple[RawEmail, Decision]:
    mail_id = uuid.uuid4().hex
    email = RawEmail(mail_id=mail_id, account="support@example.com", folder="INBOX", uid=1,
                     message_id=f"<{mail_id}@example.org>", subject=subject,
                     from_addr="customer@example.org", to=["support@example.com"], text=text,
                     html=html, attachments=attachments or [],
                     headers={"x-mailer": ["<b>mailer</b>"]})
    return email, Decision(mail_id=mail_id, category=category, route=Route.REVIEW, confidence=0.4)


def seed(rt: Runtime, *mails: tuple[RawEmail, Decision]) -> list[str]:
    with rt.db.begin() as conn:
        mail_store.record_collected(conn, [e for e, _ in mails])
        mail_store.record_decisions(conn, list(mails))
    return [e.mail_id for e, _ in mails]


def login(client: httpx.Client, user: str = "rita", password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post("/login", data={"username": user, "password": password,
                                       "login_token": token.group(1), "next": "/review"})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def consume_one(bootstrap: str, topic: str, key: str, timeout: float = 40) -> bytes:
    consumer = KafkaClients(bootstrap, group_prefix=f"t-{uuid.uuid4().hex[:8]}").consumer("check", [topic])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.key() == key.encode():
                value = msg.value()
                assert isinstance(value, bytes)
                return value
        raise AssertionError(f"nothing with key {key} on {topic} within {timeout}s")
    finally:
        consumer.close()


# -- health ---------------------------------------------------------------------------


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def stamp_round(rt: Runtime, component: str, *, ok: bool = True, detail: str = "",
                ago: float = 0.0) -> None:
    """What the collector writes after each IMAP round (or failure) of a folder."""
    at = datetime.now(UTC) - timedelta(seconds=ago)
    with rt.db.begin() as conn:
        if ok:
            mailbox_health.round_ok(conn, component, at)
        else:
            mailbox_health.round_failed(conn, component, at, detail)


def test_health_ok_with_every_server_up_then_503_naming_smtp_when_the_sink_stops(
        api_factory: Callable[..., RunningApi], mod_dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    api = api_factory(dovecot=mod_dovecot, sink=smtp_sink, api_health_cache_seconds=0)
    stamp_round(api.service.rt, "imap:support@example.com/INBOX", ago=3)
    with api.client(headers=AUTH) as client:
        up = client.get("/health")
        assert up.status_code == 200, up.text
        body = up.json()
        assert body["status"] == "OK"
        assert body["services"] == {"kafka": True, "smtp": True, "imap": True}
        assert body["details"] == ""
        imap = {c["name"]: c for c in body["checks"]}["imap:support@example.com/INBOX"]
        assert imap["ok"] and 2 <= imap["last_round_seconds_ago"] < 60
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", body["timestamp"])
        assert client.get("/health/live").status_code == 200
        assert client.get("/health/ready").json()["status"] == "OK"

        smtp_sink.stop()
        started = time.monotonic()
        down = client.get("/health")
        assert time.monotonic() - started < 10, "each check is bounded by a timeout"
        assert down.status_code == 503
        body = down.json()
        assert body["status"] == "DEGRADED"
        assert body["services"] == {"kafka": True, "smtp": False, "imap": True}
        assert "smtp" in body["details"] and str(smtp_sink.port) in body["details"]
        assert "mailer-pass" not in down.text and "support-pass" not in down.text


def test_health_names_the_collectors_failure_and_a_folder_without_recent_rounds(
        api_factory: Callable[..., RunningApi], mod_sink: SmtpSink) -> None:
    """The collector's stamps decide: a failed last round, a stale one, one never made."""
    api = api_factory(sink=mod_sink)
    rt = api.service.rt
    stamp_round(rt, "imap:a@example.com/INBOX", ago=30)
    stamp_round(rt, "imap:a@example.com/INBOX", ok=False, detail="LOGIN refused for a@example.com")
    stamp_round(rt, "imap:b@example.com/INBOX", ago=3600)
    with api.client(headers=AUTH) as client:
        resp = client.get("/health")
    assert resp.status_code == 503
    body = resp.json()
    assert body["services"]["imap"] is False and body["services"]["smtp"] is True
    assert "imap:a@example.com/INBOX: LOGIN refused for a@example.com" in body["details"]
    assert "imap:b@example.com/INBOX: no successful round for 3600 s" in body["details"]


def test_health_includes_the_collectors_mailbox_reports(api_factory: Callable[..., RunningApi],
                                                        mod_sink: SmtpSink) -> None:
    """What a collector in this process reports counts at once, next to the stamps."""
    api = api_factory(sink=mod_sink)
    api.service.rt.report("imap:ops@example.com/INBOX", True)
    api.service.rt.report("imap:sales@example.com/Leads", False, "login refused")
    with api.client(headers=AUTH) as client:
        resp = client.get("/health")
    assert resp.status_code == 503
    body = resp.json()
    assert body["services"]["imap"] is False
    assert body["details"] == "imap:sales@example.com/Leads: login refused"
    assert {c["name"] for c in body["checks"]} >= {"imap:ops@example.com/INBOX",
                                                   "imap:sales@example.com/Leads"}


def test_health_is_protected_when_api_open_health_is_false_but_probes_stay_open(
        api_factory: Callable[..., RunningApi]) -> None:
    api = api_factory(api_open_health=False, api_open_metrics=False)
    with api.client() as client:
        assert client.get("/health").status_code == 401
        assert client.get("/health/live").status_code == 200, "liveness is always open"
        assert client.get("/health/ready").status_code in (200, 503)
        assert client.get("/metrics").status_code == 401
        assert client.get("/stats").status_code == 401
        assert client.get("/health", headers=AUTH).status_code in (200, 503)
        assert client.get("/metrics", headers=AUTH).status_code == 200


# -- metrics and stats ------------------------------------------------------------------


def test_metrics_parse_and_queue_size_comes_from_the_store(api_factory: Callable[..., RunningApi]) -> None:
    api = api_factory()
    rt = api.service.rt
    seed(rt, review_mail(), review_mail(), review_mail())
    rt.metrics.processed.labels(topics.RAW_EMAILS, "ok").inc(3)
    rt.metrics.processing_time.labels(topics.RAW_EMAILS).observe(0.02)
    with api.client() as client:
        resp = client.get("/metrics")
    assert resp.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(resp.text)}
    # the parser names counters without their _total suffix
    processed = families["emails_processed"]
    assert any(s.name == "emails_processed_total" and s.labels == {"topic": "raw_emails", "status": "ok"}
               and s.value == 3 for s in processed.samples)
    assert families["email_processing_time_seconds"].type == "histogram"
    queue = {s.labels["queue_name"]: s.value for s in families["email_queue_size"].samples}
    assert queue["human_review"] == 3


def test_stats_counts_categories_queues_and_mailboxes(api_factory: Callable[..., RunningApi]) -> None:
    api = api_factory()
    seed(api.service.rt, review_mail(category="billing"), review_mail(category="billing"),
         review_mail(category="other"))
    with api.client() as client:
        stats = client.get("/stats").json()
    assert stats["by_category"] == {"billing": 2, "other": 1}
    assert stats["by_status"] == {"in_review": 3}
    assert stats["queue_sizes"]["human_review"] == 3
    assert stats["mailboxes"] == [{"account": "support@example.com", "folder": "INBOX", "total": 3,
                                   "by_status": {"in_review": 3}}]
    assert sum(stats["throughput"]["collected"]) == 3
    assert stats["latency_seconds"]["count"] == 0


def test_openapi_documents_every_response_model(api_factory: Callable[..., RunningApi]) -> None:
    api = api_factory()
    with api.client() as client:
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "https://" not in docs.text, "the docs page must work offline (no CDN)"
        assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    schemas = spec["components"]["schemas"]
    for name in ("Health", "Stats", "MailList", "MailDetail", "ReplyRequest", "DeadLetterList"):
        assert name in schemas, name
    assert "examples" in schemas["Health"]
    assert "/api/mails/{mail_id}/reply" in spec["paths"]


# -- authentication ---------------------------------------------------------------------


def test_review_api_and_dashboard_need_a_session_or_token(api_factory: Callable[..., RunningApi]) -> None:
    api = api_factory()
    with api.client() as anonymous:
        assert anonymous.get("/api/mails").status_code == 401
        page = anonymous.get("/review")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert anonymous.get("/api/mails", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert anonymous.get("/api/mails", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    with api.client() as browser:
        resp = login(browser)
        assert resp.status_code == 303 and resp.headers["location"] == "/review"
        cookie = resp.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert browser.get("/review").status_code == 200
        assert browser.get("/api/mails").status_code == 200


def test_wrong_password_and_unknown_user_are_refused(api_factory: Callable[..., RunningApi]) -> None:
    hashed = auth.hash_password("config-pass-1")
    api = api_factory(api_users=f"carol:{hashed}")
    with api.client() as client:
        wrong = login(client, "rita", "not-the-password")
        assert wrong.status_code == 401
        assert auth.SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
        assert client.get("/review").status_code == 303
        assert login(client, "nobody", PASSWORD).status_code == 401
        assert login(client, "carol", "config-pass-1").status_code == 303, "API_USERS user"
        assert client.get("/review").status_code == 200


def test_login_page_explains_how_to_create_a_user_when_there_is_none(
        tmp_path: Path, mod_broker: EmbeddedBroker) -> None:
    rt = build_runtime(settings_for(tmp_path, broker=mod_broker))
    with RunningApi(rt) as api, api.client() as client:
        page = client.get("/login")
    rt.db.dispose()
    assert "mailroom users add" in page.text and "no default password" in page.text.lower()


def test_session_post_without_csrf_token_is_refused(api_factory: Callable[..., RunningApi]) -> None:
    api = api_factory()
    (mail_id,) = seed(api.service.rt, review_mail())
    with api.client() as client:
        login(client)
        refused = client.post(f"/api/mails/{mail_id}/close")
        assert refused.status_code == 403
        form_refused = client.post(f"/mails/{mail_id}/close", data={"csrf": "forged"})
        assert form_refused.status_code == 403
        page = client.get(f"/mails/{mail_id}")
        ok = client.post(f"/api/mails/{mail_id}/close", headers={"X-CSRF-Token": csrf_of(page.text)})
        assert ok.status_code == 200 and ok.json()["status"] == "closed"


# -- review -------------------------------------------------------------------------------


def test_review_list_search_reclassify_close(api_factory: Callable[..., RunningApi], store_url: str) -> None:
    """The same review flow on SQLite and PostgreSQL."""
    api = api_factory(database_url=store_url)
    rt = api.service.rt
    invoice, parcel, _ = seed(rt, review_mail("Invoice 100% wrong", text="billing_issue here"),
                              review_mail("Where is my parcel?"), review_mail("Other thing"))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with api.client(headers=bearer) as client:
        assert client.get("/api/mails").json()["total"] == 3
        found = client.get("/api/mails", params={"q": "100%"}).json()
        assert [m["mail_id"] for m in found["items"]] == [invoice], "LIKE wildcards are escaped"
        assert client.get("/api/mails", params={"q": "BILLING_ISSUE"}).json()["total"] == 1, "body text"
        assert client.get("/api/mails", params={"q": "billing%issue"}).json()["total"] == 0
        detail = client.get(f"/api/mails/{parcel}").json()
        assert detail["subject"] == "Where is my parcel?" and detail["headers"]["x-mailer"]

        changed = client.post(f"/api/mails/{parcel}/reclassify", json={"category": "shipping"})
        assert changed.status_code == 200
        assert client.get("/api/mails", params={"category": "shipping"}).json()["total"] == 1
        assert client.post(f"/api/mails/{parcel}/close").json()["status"] == "closed"
        assert client.post(f"/api/mails/{parcel}/close").status_code == 200, "closing twice is fine"
        assert client.get("/api/mails").json()["total"] == 2
        assert client.post(f"/api/mails/{parcel}/reply", json={"body": "x"}).status_code == 409
        assert client.get("/api/mails/nope").status_code == 404
    with rt.db.begin() as conn:
        row = mail_store.get_mail(conn, parcel)
        labels = conn.execute(select(feedback.c.label, feedback.c.user)
                              .where(feedback.c.mail_id == parcel)).all()
    assert row is not None and row["status"] == MailStatus.CLOSED and row["assignee"] == "token"
    assert row["category"] == "shipping" and labels == [("shipping", "token")]


def test_reply_publishes_a_routed_email_on_the_acknowledgement_queue(
        api_factory: Callable[..., RunningApi], mod_broker: EmbeddedBroker) -> None:
    api = api_factory()
    rt = api.service.rt
    (mail_id,) = seed(rt, review_mail("Can I pause my plan?", category="billing"))
    with api.client() as client:
        login(client)
        page = client.get(f"/mails/{mail_id}")
        sent = client.post(f"/mails/{mail_id}/reply",
                           data={"csrf": csrf_of(page.text), "template": "manual",
                                 "body": "Yes: open Settings > Plan."})
        assert sent.status_code == 303 and "done=replied" in sent.headers["location"]
        again = client.post(f"/api/mails/{mail_id}/reply", json={"body": "twice"},
                            headers={"X-CSRF-Token": csrf_of(page.text)})
        assert again.status_code == 409, "a mail leaves review once a reply is queued"
    routed = RoutedEmail.model_validate_json(
        consume_one(mod_broker.bootstrap_servers, topics.ACKNOWLEDGEMENT_QUEUE, mail_id))
    d = routed.decision
    assert (d.route, d.template, d.reply_body, d.requested_by, d.category) == (
        Route.ACKNOWLEDGE, "manual", "Yes: open Settings > Plan.", "rita", "billing")
    assert routed.email.message_id == f"<{mail_id}@example.org>"
    with rt.db.begin() as conn:
        row = mail_store.get_mail(conn, mail_id)
    assert row is not None and row["status"] == MailStatus.AWAITING_REPLY and row["assignee"] == "rita"


def test_dead_letter_retry_republishes_to_its_topic_and_discard_closes_it(
        api_factory: Callable[..., RunningApi], mod_broker: EmbeddedBroker) -> None:
    api = api_factory()
    rt = api.service.rt
    email, _ = review_mail("broken once")
    with rt.db.begin() as conn:
        dead_letter_store.record(conn, [
            DeadLetter(source_topic=topics.RAW_EMAILS, key=email.mail_id, reason="store was down",
                       payload=email.model_dump_json(), mail_id=email.mail_id),
            DeadLetter(source_topic=topics.RAW_EMAILS, key="junk", reason="<b>bad</b> json",
                       payload="{not json"),
        ])
    with api.client() as reviewer:
        login(reviewer)
        page = reviewer.get("/dead-letters")
        assert "store was down" in page.text and "&lt;b&gt;bad&lt;/b&gt; json" in page.text
        first = reviewer.get("/api/dead-letters").json()["items"][0]["id"]
        refused = reviewer.post(f"/api/dead-letters/{first}/discard",
                                headers={"X-CSRF-Token": csrf_of(reviewer.get("/review").text)})
        assert refused.status_code == 403, "reviewers do not act on dead letters"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with api.client(headers=bearer) as client:
        letters = client.get("/api/dead-letters").json()
        assert letters["total"] == 2
        by_key = {d["key"]: d["id"] for d in letters["items"]}
        assert client.post(f"/api/dead-letters/{by_key[email.mail_id]}/retry").json()["status"] == "retried"
        assert client.post(f"/api/dead-letters/{by_key['junk']}/discard").json()["status"] == "discarded"
        assert client.post(f"/api/dead-letters/{by_key['junk']}/retry").status_code == 409
        assert client.get("/api/dead-letters").json()["total"] == 0
    value = consume_one(mod_broker.bootstrap_servers, topics.RAW_EMAILS, email.mail_id)
    assert RawEmail.model_validate_json(value).subject == "broken once"


# -- XSS ----------------------------------------------------------------------------------


def test_xss_in_subject_body_attachment_names_and_html_renders_inert(
        api_factory: Callable[..., RunningApi]) -> None:
    api = api_factory()
    (mail_id,) = seed(api.service.rt, review_mail(
        XSS_SUBJECT, text='<img src=x onerror=alert("text")>', html=XSS_HTML,
        attachments=[Attachment(name=XSS_NAME, content_type="application/pdf", size=10)]))
    with api.client() as client:
        login(client)
        for path in ("/review", f"/mails/{mail_id}", f"/review?status=all&q={XSS_SUBJECT[:8]}"):
            page = client.get(path)
            assert page.status_code == 200
            csp = page.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'self'" in csp
            assert "<script>alert" not in page.text and "<svg onload" not in page.text
            assert "<img src=x onerror" not in page.text
        detail = client.get(f"/mails/{mail_id}").text
        assert "&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;" in detail
        assert "&lt;svg onload=alert(&#34;att&#34;)&gt;.pdf" in detail
        assert "<script" not in detail.replace('<script src="/static/app.js" defer></script>', "")
        assert 'sandbox title="HTML part' in detail

        frame = client.get(f"/mails/{mail_id}/frame")
        frame_csp = frame.headers["content-security-policy"]
        assert "default-src 'none'" in frame_csp and "sandbox" in frame_csp and "script" not in frame_csp
        lowered = frame.text.lower()
        assert "<b>team</b>" in lowered
        for bad in ("<script", "onerror", "javascript:"):
            assert bad not in lowered

        data = client.get(f"/api/mails/{mail_id}").json()
        assert data["subject"] == XSS_SUBJECT, "JSON keeps the text; it is data, not markup"
        assert "<script" not in data["html_sanitized"] and "onerror" not in data["html_sanitized"]
        assert client.get(f"/api/mails/{mail_id}").headers["content-type"].startswith("application/json")


def test_the_mail_page_says_when_its_reply_may_already_have_gone_out(
        api_factory: Callable[..., RunningApi]) -> None:
    """A reply cut off on the wire is in review: its page says ``uncertain`` and why, up top."""
    from mailroom.store import replies as reply_store
    from mailroom.store.replies import CUT_OFF

    api = api_factory()
    email, decision = review_mail("Alta")
    (mail_id,) = seed(api.service.rt, (email, decision))
    key = (mail_id, "subscription")
    with api.service.rt.db.begin() as conn:
        reply_store.claim_many(conn, [reply_store.ClaimRequest(*key, email.from_addr, "<r@x>")],
                               owner="dead", lease=timedelta(seconds=60))
        reply_store.record_attempts(conn, sent=[], starts=[(*key, "dead")],
                                    lease=timedelta(seconds=60))
        reply_store.mark_uncertain_many(conn, {key: "no answer after DATA"}, note="unused")
        mail_store.set_status(conn, mail_id, MailStatus.IN_REVIEW, error=CUT_OFF)
    with api.client() as client:
        login(client)
        page = client.get(f"/mails/{mail_id}")
    assert page.status_code == 200
    flagged = re.search(r'id="reply-uncertain">(.*?)</dd>', page.text)
    assert flagged is not None and "uncertain" in flagged.group(1)
    assert "may have been" in flagged.group(1) and "check the sent mail" in flagged.group(1)
