"""The naive baseline's rule and reply (benchmarks/naive.py) treat mails as the seed did."""

from __future__ import annotations

import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.naive import compose, wants_reply

from mailgen import make_mail


def parsed(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_subscription_subjects_in_both_languages_want_a_reply_and_others_do_not() -> None:
    assert wants_reply(parsed(make_mail(0, subscription=True).raw))
    assert wants_reply(parsed(make_mail(1, subscription=True).raw))
    assert not wants_reply(parsed(make_mail(2, subscription=False).raw))


def test_an_automated_subscription_mail_gets_no_reply() -> None:
    assert not wants_reply(parsed(make_mail(4, subscription=True, automated=True).raw))


def test_the_reply_threads_to_the_original_and_goes_to_its_sender() -> None:
    mail = make_mail(6, subscription=True)
    reply = compose(parsed(mail.raw), "mailer@example.com")
    assert reply["In-Reply-To"] == mail.message_id
    assert reply["To"] == mail.sender
    assert reply["Auto-Submitted"] == "auto-replied"
