"""The test mail generator writes each mail as EmailMessage would (it builds bytes for speed)."""

from __future__ import annotations

import random
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from mailgen import OTHER_SUBJECTS, SUBSCRIPTION_SUBJECTS, make_batch, make_mail


def reference(i: int, *, subscription: bool, automated: bool, domain: str,
              message_id: str) -> bytes:
    """Mail i written the slow way, by EmailMessage, with the generator's choices."""
    subjects = SUBSCRIPTION_SUBJECTS if subscription else OTHER_SUBJECTS
    msg = EmailMessage()
    msg["From"] = f"User {i} <user{i}@{domain}>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"{random.Random(i).choice(subjects)} #{i}"
    msg["Message-ID"] = message_id
    if automated:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(("Hola, me gustaría suscribirme al boletín." if i % 2 else
                     "Hello, I would like to subscribe to the newsletter.") if subscription else
                    ("Hola, tengo una duda sobre mi cuenta." if i % 2 else "Hello, I have a question."))
    return msg.as_bytes()


@pytest.mark.parametrize("subscription", [True, False])
@pytest.mark.parametrize("automated", [True, False])
@pytest.mark.parametrize("domain", ["customers.test", "other.example"])
def test_each_mail_is_the_bytes_email_message_writes(subscription: bool, automated: bool,
                                                     domain: str) -> None:
    for i in [*range(40), 999, 123_457, 999_999, 1_000_000, 12_345_678]:
        mail = make_mail(i, subscription=subscription, automated=automated, domain=domain)
        assert mail.raw == reference(i, subscription=subscription, automated=automated,
                                     domain=domain, message_id=mail.message_id), i
        parsed = message_from_bytes(mail.raw, policy=policy.default)
        assert parsed["Message-ID"] == mail.message_id
        assert mail.sender == f"user{i}@{domain}"
        assert mail.wants_reply is (subscription and not automated)


def test_the_same_mail_made_twice_is_two_messages() -> None:
    """A test that sends mail i again (a second request from one sender) needs a new
    Message-ID, or the collector takes it for the same mail."""
    first, again = make_mail(0, subscription=True), make_mail(0, subscription=True)
    assert first.message_id != again.message_id
    assert first.raw.replace(first.message_id.encode(), b"") == \
        again.raw.replace(again.message_id.encode(), b"")


def test_message_ids_are_unique_in_a_batch() -> None:
    batch = make_batch(5000, start=10, automated_every=7)
    assert len({m.message_id for m in batch}) == 5000
    assert sum(1 for m in batch if m.wants_reply) == sum(
        1 for i in range(10, 5010) if i % 2 == 0 and i % 7 != 6)
