"""The SMTP pool against a real aiosmtpd server: reuse, reconnect, error classes."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailroom.responder.smtp import SmtpConfig, SmtpPermanent, SmtpPool, SmtpTransient, probe
from mailroom.settings import Security
from servers import SmtpSink

pytestmark = [
    pytest.mark.integration,
    # the test sink offers AUTH without TLS on loopback on purpose
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]


def config(sink: SmtpSink, *, size: int = 2, password: str | None = None) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=sink.port, security=Security.NONE,
                      username=sink.user, password=sink.password if password is None else password,
                      timeout=10, pool_size=size)


def message(n: int = 0) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "mailer@example.com"
    msg["To"] = "ana@example.org"
    msg["Subject"] = f"Re: test {n}"
    msg["Message-ID"] = f"<reply-{n}@example.com>"
    msg.set_content("hello")
    return msg


async def test_pool_reuses_its_connections(smtp_sink: SmtpSink) -> None:
    """Ten sends on a pool of two open at most two connections (with AUTH)."""
    pool = SmtpPool(config(smtp_sink))
    try:
        for n in range(10):
            await pool.send(message(n), sender=smtp_sink.user, recipients=["ana@example.org"])
    finally:
        await pool.close()
    assert smtp_sink.wait_for(10, timeout=10)
    assert pool.connects == 1  # sequential sends: the LIFO slot's connection every time


async def test_pool_reconnects_after_the_server_went_away(smtp_sink: SmtpSink) -> None:
    """A connection dropped by a server restart is replaced; the send after it succeeds."""
    pool = SmtpPool(config(smtp_sink, size=1))
    try:
        await pool.send(message(1), sender=smtp_sink.user, recipients=["ana@example.org"])
        smtp_sink.stop()
        restarted = SmtpSink(port=smtp_sink.port).start()
        try:
            try:
                await pool.send(message(2), sender=smtp_sink.user, recipients=["ana@example.org"])
            except SmtpTransient:
                # the dead connection was noticed during the send: the next one reconnects
                await pool.send(message(2), sender=smtp_sink.user, recipients=["ana@example.org"])
            assert restarted.wait_for(1, timeout=10)
            assert pool.connects == 2
        finally:
            restarted.stop()
    finally:
        await pool.close()


@pytest.mark.parametrize(("answer", "error", "code"), [
    ("421 4.3.2 Service shutting down", SmtpTransient, 421),
    ("451 4.3.0 Try again later", SmtpTransient, 451),
    ("550 5.7.1 Message rejected as spam", SmtpPermanent, 550),
    ("554 5.6.0 Bad content", SmtpPermanent, 554),
])
async def test_data_answers_are_classified(smtp_sink: SmtpSink, answer: str,
                                           error: type[Exception], code: int) -> None:
    """4xx -> transient, 5xx -> permanent with the server's answer; the pool keeps working."""
    pool = SmtpPool(config(smtp_sink, size=1))
    smtp_sink.behaviour.on_data = lambda _env: answer
    try:
        with pytest.raises(error) as caught:
            await pool.send(message(), sender=smtp_sink.user, recipients=["ana@example.org"])
        assert getattr(caught.value, "code", None) == code
        assert answer.split(" ", 1)[1] in str(caught.value)
        smtp_sink.behaviour.on_data = None
        await pool.send(message(), sender=smtp_sink.user, recipients=["ana@example.org"])
        assert smtp_sink.wait_for(1, timeout=10)
    finally:
        await pool.close()


async def test_partial_recipient_refusal_is_reported(smtp_sink: SmtpSink) -> None:
    """One refused recipient: the others get the mail and the refusal is returned."""
    smtp_sink.behaviour.on_rcpt = lambda addr: "550 5.1.1 No such user" if addr.startswith("gone") else None
    pool = SmtpPool(config(smtp_sink, size=1))
    try:
        delivery = await pool.send(message(), sender=smtp_sink.user,
                                   recipients=["ana@example.org", "gone@example.org"])
    finally:
        await pool.close()
    assert delivery.refused == {"gone@example.org": "550 5.1.1 No such user"}
    assert smtp_sink.wait_for(1, timeout=10)
    assert smtp_sink.received[0].rcpt_tos == ["ana@example.org"]


@pytest.mark.parametrize(("answer", "error"), [
    ("550 5.1.1 No such user", SmtpPermanent),
    ("450 4.2.1 Mailbox busy", SmtpTransient),
])
async def test_all_recipients_refused(smtp_sink: SmtpSink, answer: str, error: type[Exception]) -> None:
    smtp_sink.behaviour.on_rcpt = lambda _addr: answer
    pool = SmtpPool(config(smtp_sink, size=1))
    try:
        with pytest.raises(error, match=r"ana@example\.org"):
            await pool.send(message(), sender=smtp_sink.user, recipients=["ana@example.org"])
    finally:
        await pool.close()
    assert smtp_sink.received == []


async def test_a_refused_envelope_is_reset_and_the_connection_sends_the_next_one(
        smtp_sink: SmtpSink) -> None:
    """The pool's own mail transaction (``_Client.transaction``): after every recipient was
    refused, RSET, and the same connection's next send goes through, with MAIL's SIZE as
    the server counts the message; an address is quoted as aiosmtplib quotes it."""
    smtp_sink.behaviour.on_rcpt = lambda addr: "550 5.1.1 No such user" if addr.startswith("gone") else None
    pool = SmtpPool(config(smtp_sink, size=1))
    data = message(1).as_bytes(policy=message(1).policy.clone(linesep="\r\n"))
    try:
        with pytest.raises(SmtpPermanent, match=r"gone@example\.org"):
            await pool.send(data, sender=smtp_sink.user, recipients=["gone@example.org"])
        # a line break in an address does not reach the command line (aiosmtplib's quoting)
        await pool.send(data, sender=smtp_sink.user, recipients=["ana@example.org\r\nRCPT TO:<x@y>"])
        delivery = await pool.send(data, sender=smtp_sink.user, recipients=["ana@example.org"])
    finally:
        await pool.close()
    assert delivery.refused == {} and delivery.response
    assert smtp_sink.wait_for(2, timeout=10)
    assert [(r.mail_from, r.rcpt_tos, r.mail_options) for r in smtp_sink.received] == [
        (smtp_sink.user, ["ana@example.org"], [f"SIZE={len(data)}"])] * 2
    assert pool.connects == 1  # the refusals did not cost the connection


async def test_refused_login_is_transient_and_probe_fails(smtp_sink: SmtpSink) -> None:
    """A wrong password is an operator's fix: the reply is retried later, not failed."""
    bad = config(smtp_sink, size=1, password="wrong")
    pool = SmtpPool(bad)
    try:
        with pytest.raises(SmtpTransient, match="login refused"):
            await pool.send(message(), sender=smtp_sink.user, recipients=["ana@example.org"])
    finally:
        await pool.close()
    assert await probe(config(smtp_sink)) is True
    assert await probe(bad) is False


async def test_internationalised_domain_goes_with_smtputf8_when_offered() -> None:
    """A composed reply to an IDN address: UTF-8 headers, MAIL FROM with SMTPUTF8."""
    from mailroom.events import Decision, RawEmail, Route
    from mailroom.responder.compose import (
        envelope_recipients,
        reply_fields,
        reply_message,
        serialise,
    )
    from mailroom.responder.templates import Templates

    email = RawEmail(mail_id="m1", account="support@example.com", folder="INBOX",
                     message_id="<o1@ejémplo.es>", subject="Suscripción",
                     from_addr="jose@ejémplo.es", from_name="José", language="es")
    reply = reply_message(reply_fields(
        email, Decision(mail_id="m1", category="subscription", route=Route.ACKNOWLEDGE),
        templates=Templates(), from_addr="mailer@example.com", from_name="Soporte",
        default_language="en"))
    to = envelope_recipients(reply)
    sink = SmtpSink(smtputf8=True).start()
    pool = SmtpPool(config(sink))
    try:
        await pool.send(serialise(reply), sender=sink.user, recipients=to)
    finally:
        await pool.close()
        sink.stop()
    assert sink.wait_for(1, timeout=10)
    got = sink.received[0]
    assert got.rcpt_tos == ["jose@ejémplo.es"]
    assert "SMTPUTF8" in [o.upper() for o in got.mail_options]
    assert "To: José <jose@ejémplo.es>".encode() in got.data


async def test_internationalised_address_without_smtputf8_fails_for_good(
        smtp_sink: SmtpSink) -> None:
    """The server will never take it: a permanent failure (the reply goes to a person)."""
    pool = SmtpPool(config(smtp_sink))
    try:
        with pytest.raises(SmtpPermanent, match="SMTPUTF8"):
            await pool.send(message(), sender=smtp_sink.user, recipients=["jose@ejémplo.es"])
    finally:
        await pool.close()
    assert smtp_sink.received == []
