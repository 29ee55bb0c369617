"""A reply composed ahead by the processor (``Composer.ahead``) and the responder's check
before it sends one as it is (``Composer.usable``)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from jinja2 import DictLoader

from mailroom.events import ComposedReply, Decision, RawEmail, Route, RoutedEmail
from mailroom.responder.compose import (
    PRECOMPOSED_MAX_AGE,
    Composer,
    envelope_recipients,
    serialise,
)
from mailroom.responder.templates import Templates

COMPOSER = Composer(Templates(), "support@example.com", "Soporte", "en",
                    frozenset({"support@example.com"}))
DATE = re.compile(rb"^Date: [^\r]*\r\n", re.MULTILINE)


def mail(**fields: Any) -> RawEmail:
    values: dict[str, Any] = {
        "mail_id": "m1", "account": "support@example.com", "folder": "INBOX",
        "message_id": "<orig-1@client.example.org>", "subject": "Suscripción al boletín",
        "from_addr": "ana@example.org", "from_name": "Ana Pérez", "language": "es"}
    return RawEmail(**(values | fields))


def decision(**fields: Any) -> Decision:
    values: dict[str, Any] = {"mail_id": "m1", "category": "subscription",
                              "template": "subscription", "route": Route.ACKNOWLEDGE}
    return Decision(**(values | fields))


def ahead(email: RawEmail | None = None, dec: Decision | None = None) -> ComposedReply:
    composed = COMPOSER.ahead(email or mail(), dec or decision())
    assert composed is not None
    return composed


def test_ahead_is_the_reply_the_responder_would_compose_but_for_its_date() -> None:
    composed = ahead()
    message = COMPOSER.compose(mail(), decision())
    assert DATE.sub(b"", composed.data.encode()) == DATE.sub(b"", serialise(message))
    assert composed.recipients == envelope_recipients(message) == ["ana@example.org"]
    assert composed.message_id == str(message["Message-ID"])
    assert composed.key == "subscription"
    assert COMPOSER.usable(composed, mail(), decision())


def test_it_travels_on_the_queue_and_reads_back_the_same() -> None:
    event = RoutedEmail(email=mail(), decision=decision(), reply=ahead())
    again = RoutedEmail.model_validate_json(event.to_bytes())
    assert again.reply == event.reply
    # an event written before replies were composed ahead still reads, without one
    old = event.model_dump(mode="json")
    del old["reply"]
    assert RoutedEmail.model_validate(old).reply is None


@pytest.mark.parametrize(("why", "email", "dec"), [
    ("a person's text", mail(), decision(reply_body="Hola Ana", requested_by="rev")),
    ("several Reply-To", mail(reply_to=["a@example.org", "b@example.org"]), decision()),
    ("a header injection", mail(message_id="<a@example.org>\r\nBcc: x@example.org"), decision()),
])
def test_nothing_is_composed_ahead_where_the_responder_must_decide(
        why: str, email: RawEmail, dec: Decision) -> None:
    assert COMPOSER.ahead(email, dec) is None, why


def test_a_missing_template_is_left_to_the_responder() -> None:
    bare = Composer(Templates(loader=DictLoader({})), "support@example.com", "Soporte", "en")
    assert bare.ahead(mail(), decision()) is None


@pytest.mark.parametrize("change", ["stale", "other template", "person's text", "recipient",
                                    "message id", "other mail", "other settings"])
def test_the_responder_composes_again_unless_it_is_what_it_would_send(change: str) -> None:
    composed, email, dec, responder = ahead(), mail(), decision(), COMPOSER
    if change == "stale":
        composed = composed.model_copy(
            update={"composed_at": composed.composed_at - PRECOMPOSED_MAX_AGE
                    - timedelta(seconds=1)})
    elif change == "other template":
        dec = decision(template="welcome")
    elif change == "person's text":
        dec = decision(reply_body="Hola", requested_by="rev")
    elif change == "recipient":  # written into the queue by someone else
        composed = composed.model_copy(update={"recipients": ["victim@example.net"]})
    elif change == "message id":
        composed = composed.model_copy(update={"message_id": "<other@example.com>"})
    elif change == "other mail":  # the reply of another mail attached to this one
        email = mail(mail_id="m2", message_id="<orig-2@client.example.org>")
    else:  # a responder set up with another templates folder, From or language
        responder = replace(COMPOSER, templates_dir="/srv/other-templates")
        assert replace(COMPOSER).usable(composed, email, dec)
    assert not responder.usable(composed, email, dec)
