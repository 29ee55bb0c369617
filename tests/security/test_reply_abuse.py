"""Nobody can turn our auto-replies against others (issue 16, "Reply abuse").

Each finding is reproduced with the attacker's input and shown fixed: several Reply-To
addresses, a system or own address in Reply-To, a phishing line in the subject or the
display name, a 2,000-character display name. The pure functions first, then a hostile
mail set through the whole pipeline (Dovecot -> Tansu -> stages -> aiosmtpd).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader

from mailroom import autoreply, topics
from mailroom.autoreply import Refusal, Target, reply_target
from mailroom.events import Decision, RawEmail, Route
from mailroom.processor.automated import doubtful_address_to_review
from mailroom.responder import compose as compose_module
from mailroom.responder.compose import (
    NAME_ECHO_CHARS,
    SUBJECT_ECHO_CHARS,
    ComposeRefused,
    echo_safe,
    envelope_recipients,
    reply_fields,
    reply_message,
    serialise,
)
from mailroom.responder.templates import Templates
from mailroom.store import MailStatus
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store
from pipeline import running, wait_until

OWN = frozenset({"support@example.com", "mailer@example.com"})
TEMPLATES = Templates()
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PHISH = "Your account is locked, verify at http://evil.example/login"
# what a reader (or a mail client) could follow, in any of its disguises
FOLLOWABLE = re.compile(r"https?:|www\.|evil|@|\d{3}[-. ]?\d{4}", re.IGNORECASE)


def mail(**fields: Any) -> RawEmail:
    values: dict[str, Any] = {
        "mail_id": "m1", "account": "support@example.com", "folder": "INBOX",
        "message_id": "<orig-1@client.example.org>", "subject": "Subscription request",
        "from_addr": "ana@example.org", "from_name": "Ana", "language": "en",
        "return_path": "<ana@example.org>",
    }
    values.update(fields)
    return RawEmail(**values)


def ack() -> Decision:
    return Decision(mail_id="m1", category="subscription", route=Route.ACKNOWLEDGE,
                    template="subscription", reasons=["rule subscription"])


def compose(email: RawEmail, templates: Templates = TEMPLATES) -> EmailMessage:
    return reply_message(reply_fields(email, ack(), templates=templates,
                                      from_addr="mailer@example.com",
                                      from_name="Example Support", default_language="en",
                                      own_addresses=OWN, now=NOW))


def long_lines(data: bytes) -> list[bytes]:
    """Lines over RFC 5322's 998-byte limit (CRLF excluded)."""
    return [line for line in data.split(b"\r\n") if len(line) > 998]


# -- many Reply-To ------------------------------------------------------------------

def test_several_reply_to_addresses_go_to_review_not_to_all_of_them() -> None:
    """Finding: Reply-To 'attacker, victim' was answered at both. Now: review, no reply."""
    email = mail(reply_to=["attacker-1@evil.example", "victim@target.example"])
    found = reply_target(email, OWN)
    assert isinstance(found, Refusal) and found.code == autoreply.SEVERAL_REPLY_TO and found.review
    decided = doubtful_address_to_review(email, ack(), OWN)  # the processor
    assert decided.route is Route.REVIEW and "2 Reply-To addresses" in decided.reasons[-1]
    assert autoreply.refusal(email, OWN) == found  # the responder, before SMTP
    with pytest.raises(ComposeRefused):  # and compose never picks one of them itself
        compose(email)


def test_fifty_reply_to_addresses_are_named_briefly() -> None:
    """The review reason names a few addresses, not fifty."""
    email = mail(reply_to=[f"victim-{i}@target.example" for i in range(50)])
    found = reply_target(email, OWN)
    assert isinstance(found, Refusal) and found.detail.startswith("50 Reply-To addresses")
    assert len(found.detail) < 200


def test_the_same_address_twice_is_one_address() -> None:
    """Reply-To repeating the From (any case) is still one address: answered there."""
    email = mail(reply_to=["Ana@Example.org", "ana@example.org"])
    assert reply_target(email, OWN) == Target("ana@example.org", "Ana")


# -- system and own addresses in Reply-To ------------------------------------------

@pytest.mark.parametrize("address", [
    "mailer-daemon@target.example", "MAILER-DAEMON@target.example", "postmaster@target.example",
    "noreply@target.example", "no-reply+x@target.example", "billing-noreply@target.example",
    "users-request@lists.example.org", "owner-users@lists.example.org",
    "listserv@lists.example.org", "bounces+123@esp.example",
    "support@example.com", "Mailer@Example.com",
])
def test_a_system_or_own_reply_to_goes_to_review(address: str) -> None:
    """Finding: the guard checked the From only, so Reply-To: mailer-daemon was answered."""
    email = mail(reply_to=[address])
    found = autoreply.refusal(email, OWN)
    assert found is not None and found.code == autoreply.REFUSED_REPLY_TO and found.review
    assert address.lower() in found.detail
    assert doubtful_address_to_review(email, ack(), OWN).route is Route.REVIEW
    with pytest.raises(ComposeRefused, match="no reply address"):
        compose(email)


def test_the_mailbox_the_mail_came_to_is_our_own_address() -> None:
    """A Reply-To naming the receiving mailbox (any account) would answer ourselves."""
    email = mail(account="sales@example.com", reply_to=["Sales@example.com"])
    assert autoreply.refusal(email, ()) is not None


# -- the reply goes to one address, and that address is the rate-limited one ------------

@pytest.mark.parametrize(("reply_to", "expected"), [
    ([], "ana@example.org"), (["ana.work@example.net"], "ana.work@example.net"),
])
def test_a_reply_has_exactly_one_recipient(reply_to: list[str], expected: str) -> None:
    """RFC 3834 s4: the single acceptable Reply-To, else the From; never more than one."""
    msg = compose(mail(reply_to=reply_to))
    assert envelope_recipients(msg) == [expected]
    assert reply_target(mail(reply_to=reply_to), OWN) == Target(
        expected, "Ana" if not reply_to else "")


# -- sender-controlled text ----------------------------------------------------------

@pytest.mark.parametrize("text", [
    PHISH,
    "Locked! Go to www.evil.example now",
    "Verify at evil[.]example/login",
    "Verify at evil (dot) example",
    "Write to help@evil.example",
    "Call +1 (555) 010-0199 to unlock",
    "Open hxxp://evil.example",
    "Visit evil。example",
    "Open javascript:alert(1)",
])
def test_nothing_followable_is_echoed(text: str) -> None:
    """Finding: the subject and display name were echoed whole, so an attacker could have
    us mail their link. Now neither carries a URL, domain, address or phone number."""
    msg = compose(mail(subject=text, from_name=text))
    parsed = message_from_bytes(serialise(msg), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    for shown in (str(parsed["Subject"]), str(parsed["To"].addresses[0].display_name),
                  str(plain.get_content()), str(html.get_content())):
        assert not FOLLOWABLE.search(shown.replace("example.com", "").replace(
            "Example Support", "")), shown


def echo_safe_scanning_all(text: str, max_chars: int) -> str:
    """``echo_safe`` scanning every text for followable runs (as it did before it skipped
    text that cannot hold one)."""
    text = " ".join(compose_module._CONTROL.sub(" ", text[:max_chars * 8]).split())
    text = " ".join(compose_module._FOLLOWABLE.sub("…", text).split())
    if len(text) > max_chars:
        cut = text[:max_chars - 1]
        space = cut.rfind(" ")
        text = (cut[:space] if space > max_chars // 2 else cut).rstrip() + "…"
    return "" if not text.replace("…", "").strip(" .,;:-") else text


@settings(max_examples=1500, deadline=None)
@given(text=st.one_of(
    st.text(max_size=120),
    st.text(alphabet=st.sampled_from(list("aZ9٣ .:@[({)}]\u3002\uff0e\uff61+-/ dotwx")),
            max_size=60),
    st.lists(st.sampled_from(["Re:", "http://x.example", "www", "(dot)", "555 12 34", "#1234",
                              "ana@x", "Suscripción", "12345678", "[.]", "mailto:", "x.y"]),
             max_size=8).map(" ".join)))
@example("visit example{dot}com")
@example("visit example[dot]com")
@example("visit example(dot)com")
@example("visit example\u3002com")
@example("visit example\uff0ecom")
@example("visit example\uff61com")
def test_text_skipped_by_the_quick_check_is_echoed_as_a_full_scan_echoes_it(text: str) -> None:
    """The check before the scan (a ":", "@", dot, bracket or seven digits) never lets a
    followable run through: whatever the text, the echo is what scanning it gives."""
    for cap in (SUBJECT_ECHO_CHARS, NAME_ECHO_CHARS):
        assert echo_safe(text, cap) == echo_safe_scanning_all(text, cap)


def test_echoed_text_is_capped() -> None:
    """A long subject or name is cut to a few dozen characters, at a word, marked."""
    long_subject = "Subscription " + "please " * 100
    assert len(echo_safe(long_subject, 80)) <= 80 and echo_safe(long_subject, 80).endswith("…")
    msg = compose(mail(subject=long_subject, from_name="A" * 2000))
    assert len(str(msg["Subject"])) <= len("Re: ") + 80
    assert len(msg["To"].addresses[0].display_name) <= 40


def test_ordinary_subjects_and_names_are_echoed_unchanged() -> None:
    """The defence costs real mail nothing: a plain subject and name come back as they were."""
    msg = compose(mail(subject="Suscripción al boletín, por favor", from_name="José Pérez"))
    assert str(msg["Subject"]) == "Re: Suscripción al boletín, por favor"
    assert str(msg["To"]) == "José Pérez <ana@example.org>"
    plain = msg.get_body(("plain",))  # the template quotes the subject without "Re:"
    assert isinstance(plain, EmailMessage)
    assert '("Suscripción al boletín, por favor")' in plain.get_content()


# -- header lines within 998 bytes ------------------------------------------------------

def test_a_2000_character_display_name_makes_no_overlong_line() -> None:
    """Finding: a 2,000-character display name produced a 2,001-byte To: line."""
    for name in ("A" * 2000, "Ñ" * 2000, "A" * 1000 + " " + "B" * 1000):
        data = serialise(compose(mail(from_name=name)))
        assert long_lines(data) == []


def test_overlong_message_ids_are_dropped_not_echoed() -> None:
    """A 2,000-character Message-ID or Reference would be an unfoldable header line."""
    email = mail(message_id=f"<{'x' * 2000}@evil.example>",
                 references=[f"<{'y' * 990}@evil.example>", "<ok@client.example.org>"])
    msg = compose(email)
    assert msg["In-Reply-To"] is None and str(msg["References"]) == "<ok@client.example.org>"
    assert long_lines(serialise(msg)) == []


@settings(max_examples=60, deadline=None)
@given(subject=st.text(max_size=600), name=st.text(max_size=2500),
       ids=st.lists(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                                   exclude_characters="<>"),
                            min_size=1, max_size=400), max_size=25))
def test_no_header_line_ever_exceeds_998_bytes(subject: str, name: str, ids: list[str]) -> None:
    """Whatever the sender puts in subject, name and references, every line fits."""
    email = mail(subject=subject, from_name=name, references=[f"<{i}>" for i in ids])
    try:
        data = serialise(compose(email))
    except ComposeRefused:
        return  # refused (a control character in an id): nothing is sent
    assert long_lines(data) == []


# -- templates are sandboxed ---------------------------------------------------------------

def test_a_template_cannot_reach_python_internals() -> None:
    """A user's template file that walks to Python's internals is refused, not rendered."""
    evil = "{{ sender_name.__class__.__mro__[1].__subclasses__() }}"
    templates = Templates(loader=DictLoader({
        "subscription.en.txt": evil, "subscription.en.html": evil,
        "default.en.txt": evil, "default.en.html": evil}))
    with pytest.raises(ComposeRefused, match="template"):
        compose(mail(), templates)


# -- the hostile mail set through the real pipeline -------------------------------------------

USER = "support@example.com"
VICTIM = "victim@target.test"
SYSTEM = ["mailer-daemon@target.test", "postmaster@target.test", "noreply@target.test",
          "news-request@lists.target.test", USER, "mailer@example.com"]
REQUEST = "Hello, I would like to subscribe to the newsletter."


def hostile(i: int, *, sender: str, subject: str = "Subscription request",
            reply_to: str | None = None, name: str = "") -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = USER
    if reply_to is not None:
        msg["Reply-To"] = reply_to
    msg["Subject"] = f"{subject} #{i}"
    message_id = make_msgid(idstring=f"h{i}", domain="attack.test")
    msg["Message-ID"] = message_id
    msg.set_content(REQUEST)
    return msg.as_bytes(), message_id


def hostile_set() -> tuple[list[tuple[bytes, str]], dict[str, set[str]]]:
    """Forty mails aimed at one victim, system and own addresses, phishing subjects,
    and plain requests; returns the raw mails and which message ids are of which kind."""
    mails: list[tuple[bytes, str]] = []
    kinds: dict[str, set[str]] = {"several": set(), "refused": set(), "victim": set(),
                                  "plain": set(), "long_name": set()}

    def add(kind: str, built: tuple[bytes, str]) -> None:
        mails.append(built)
        kinds[kind].add(built[1])

    for i in range(15):  # many Reply-To, the victim among them
        add("several", hostile(i, sender=f"attacker-{i}@evil.test",
                               reply_to=f"attacker-{i}@evil.test, {VICTIM}"))
    for i in range(15, 30):  # forged From: the victim, with a phishing subject
        add("victim", hostile(i, sender=VICTIM, subject=f"Subscription request: {PHISH}"))
    for i in range(30, 40):  # a single Reply-To: the victim
        add("victim", hostile(i, sender=f"attacker-{i}@evil.test", reply_to=VICTIM,
                              name="Account locked, see evil.test/verify"))
    for i, address in enumerate(SYSTEM, start=40):  # system and own addresses in Reply-To
        add("refused", hostile(i, sender=f"attacker-{i}@evil.test", reply_to=address))
    add("long_name", hostile(50, sender="longname@customers.test", name="N" * 2000))
    for i in range(60, 66):  # plain requests, one sender each
        add("plain", hostile(i, sender=f"customer-{i}@customers.test"))
    return mails, kinds


@pytest.mark.integration
@pytest.mark.slow
async def test_a_hostile_mail_set_through_the_pipeline(
    dovecot: Any, smtp_sink: Any, make_settings: Any,
) -> None:
    """Any address gets at most one reply per AUTOREPLY_PERIOD, no reply goes to two
    addresses or to a system or own address, no reply echoes a link, every header line
    fits, and the plain requests are still answered."""
    mails, kinds = hostile_set()
    dovecot.preload(USER, [raw for raw, _ in mails])
    settings_ = make_settings(dovecot=dovecot, smtp=smtp_sink)
    ids = {message_id: topics.mail_id(USER, "INBOX", message_id, b"") for _, message_id in mails}

    async with running(settings_) as supervisor:
        db = supervisor.runtime.db

        def settled() -> bool:
            """Every mail decided and settled: none open, no reply between claim and sent."""
            with db.begin() as conn:
                return (mail_store.count_all(conn) == len(mails)
                        and mail_store.count_open(conn) == 0
                        and not reply_store.counts(conn).get("sending"))

        assert await wait_until(settled, 120)
        with db.begin() as conn:
            rows = {mid: mail_store.get_mail(conn, ids[mid]) for _, mid in mails}

    assert all(row is not None for row in rows.values())
    received = list(smtp_sink.received)
    per_address = Counter(rcpt.lower() for r in received for rcpt in r.rcpt_tos)
    replied_to = {r.in_reply_to for r in received}

    assert all(len(r.rcpt_tos) == 1 for r in received), [r.rcpt_tos for r in received]
    assert max(per_address.values(), default=0) <= 1, per_address
    assert per_address[VICTIM] == 1  # twenty-five requests naming the victim: one reply
    victim_rows = [rows[m] for m in kinds["victim"]]
    assert sum(1 for row in victim_rows if row and row["status"] == MailStatus.REPLIED) == 1
    assert any(row and row["error"] == "rate_limited" for row in victim_rows)
    assert not set(per_address) & {a.lower() for a in SYSTEM}, per_address
    assert not any(a.startswith("attacker-") for a in per_address), per_address
    assert kinds["plain"] | kinds["long_name"] <= replied_to  # real requests still answered
    assert not replied_to & (kinds["several"] | kinds["refused"])
    for r in received:
        assert long_lines(r.data) == [], r.rcpt_tos
        subject = str(r.message["Subject"])
        assert "http" not in subject and "evil" not in subject, subject
        assert b"evil" not in r.data.lower() and b"http:" not in r.data.lower()
    for message_id in kinds["several"] | kinds["refused"]:
        row = rows[message_id]
        assert row is not None and row["status"] == MailStatus.IN_REVIEW, row
        assert any("Reply-To" in reason for reason in row["reasons"] or []), row["reasons"]
