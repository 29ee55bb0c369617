"""The one never-answer guard (mailroom.autoreply): RFC 3834 / Pigeonhole checklist, both ways.

Each case is checked through both stages' entry points: the processor's ``never_answer``
(which decides the ``automated`` category) and ``autoreply.refusal`` (what the responder
calls before SMTP). They must name the same reason: one source of truth, no drift.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from mailroom import autoreply
from mailroom.autoreply import loop_refusal, own_addresses, refusal, unfold
from mailroom.events import RawEmail
from mailroom.processor.automated import never_answer
from mailroom.settings import Settings

OWN = ("support@example.com", "mailer@example.com")


def mail(headers: dict[str, list[str]] | None = None, **fields: Any) -> RawEmail:
    values: dict[str, Any] = {"mail_id": "m1", "account": "support@example.com", "folder": "INBOX",
                              "from_addr": "ana@example.org", "return_path": "<ana@example.org>",
                              "subject": "Suscripción", "headers": headers or {}}
    values.update(fields)
    return RawEmail(**values)


SUPPRESSED: list[tuple[str, RawEmail, str]] = [
    ("auto-submitted auto-replied", mail({"auto-submitted": ["auto-replied"]}), autoreply.AUTO_SUBMITTED),
    ("auto-submitted auto-notified", mail({"auto-submitted": ["auto-notified"]}), autoreply.AUTO_SUBMITTED),
    ("auto-submitted auto-generated mixed case",
     mail({"auto-submitted": ["Auto-Generated"]}), autoreply.AUTO_SUBMITTED),
    ("auto-submitted with comment and parameter",
     mail({"auto-submitted": [" auto-replied (vacation); owner-email=x@y"]}), autoreply.AUTO_SUBMITTED),
    ("auto-submitted folded", mail({"auto-submitted": ["auto-\r\n replied"]}), autoreply.AUTO_SUBMITTED),
    ("auto-submitted repeated, one not 'no'",
     mail({"auto-submitted": ["no", "auto-replied"]}), autoreply.AUTO_SUBMITTED),
    ("auto-submitted unknown value", mail({"auto-submitted": ["yes-please"]}), autoreply.AUTO_SUBMITTED),
    ("auto-submitted empty", mail({"auto-submitted": [""]}), autoreply.AUTO_SUBMITTED),
    ("precedence bulk", mail({"precedence": ["bulk"]}), autoreply.PRECEDENCE),
    ("precedence LIST upper case", mail({"precedence": ["LIST"]}), autoreply.PRECEDENCE),
    ("precedence junk with comment", mail({"precedence": ["junk (spam)"]}), autoreply.PRECEDENCE),
    ("precedence auto_reply (Exchange, vacation tools)",
     mail({"precedence": ["auto_reply"]}), autoreply.PRECEDENCE),
    ("precedence repeated, second bulk", mail({"precedence": ["normal", "bulk"]}), autoreply.PRECEDENCE),
    ("precedence folded", mail({"precedence": ["\r\n\tbulk"]}), autoreply.PRECEDENCE),
    *[(f"{h} present", mail({h: ["<x.lists.example.org>"]}), autoreply.LIST_HEADER)
      for h in ("list-id", "list-help", "list-subscribe", "list-unsubscribe", "list-post",
                "list-owner", "list-archive", *sorted(autoreply.LIST_HEADERS))],
    ("list-id empty", mail({"list-id": [""]}), autoreply.LIST_HEADER),
    *[(f"{h} present", mail({h: ["yes"]}), autoreply.AUTO_REPLY_HEADER)
      for h in sorted(autoreply.AUTO_REPLY_HEADERS)],
    ("x-auto-response-suppress All", mail({"x-auto-response-suppress": ["All"]}),
     autoreply.AUTO_RESPONSE_SUPPRESS),
    ("x-auto-response-suppress list with oof",
     mail({"x-auto-response-suppress": ["DR, RN,NRN,\r\n OOF"]}), autoreply.AUTO_RESPONSE_SUPPRESS),
    ("x-auto-response-suppress AutoReply",
     mail({"x-auto-response-suppress": ["AutoReply"]}), autoreply.AUTO_RESPONSE_SUPPRESS),
    ("feedback-id (bulk sender)", mail({"feedback-id": ["1:campaign:esp"]}), autoreply.BULK_SENDER),
    ("x-failed-recipients (bounce)", mail({"x-failed-recipients": ["x@example.org"]}),
     autoreply.DELIVERY_REPORT),
    ("return path <>", mail(return_path="<>"), autoreply.NULL_RETURN_PATH),
    ("return path empty", mail(return_path=""), autoreply.NULL_RETURN_PATH),
    ("return path < > header", mail({"return-path": ["< >"]}, return_path=None),
     autoreply.NULL_RETURN_PATH),
    ("no sender address", mail(from_addr=""), autoreply.NO_SENDER),
    ("MAILER-DAEMON", mail(from_addr="MAILER-DAEMON@mx.example.org"), autoreply.SYSTEM_SENDER),
    ("postmaster", mail(from_addr="Postmaster@example.org"), autoreply.SYSTEM_SENDER),
    ("LISTSERV", mail(from_addr="LISTSERV@lists.example.org"), autoreply.SYSTEM_SENDER),
    ("majordomo", mail(from_addr="majordomo@example.org"), autoreply.SYSTEM_SENDER),
    ("-request", mail(from_addr="users-request@lists.example.org"), autoreply.SYSTEM_SENDER),
    ("owner-", mail(from_addr="owner-users@lists.example.org"), autoreply.SYSTEM_SENDER),
    ("bounces with VERP tag", mail(from_addr="bounces+1234@esp.example"), autoreply.SYSTEM_SENDER),
    ("system return path only", mail(return_path="<mailer-daemon@mx.example.org>"),
     autoreply.SYSTEM_SENDER),
    ("system Sender header", mail({"sender": ["owner-news@lists.example.org"]}),
     autoreply.SYSTEM_SENDER),
    ("noreply", mail(from_addr="noreply@shop.example"), autoreply.NOREPLY_SENDER),
    ("no-reply mixed case", mail(from_addr="No-Reply@shop.example"), autoreply.NOREPLY_SENDER),
    ("do-not-reply", mail(from_addr="do-not-reply@bank.example"), autoreply.NOREPLY_SENDER),
    ("donotreply with tag", mail(from_addr="donotreply+x@bank.example"), autoreply.NOREPLY_SENDER),
    ("billing-noreply", mail(from_addr="billing-noreply@shop.example"), autoreply.NOREPLY_SENDER),
    ("auto-reply sender", mail(from_addr="auto-reply@shop.example"), autoreply.NOREPLY_SENDER),
    ("noreply in display form", mail(from_addr="Shop <no_reply@shop.example>"),
     autoreply.NOREPLY_SENDER),
    ("multipart/report DSN",
     mail(content_type='multipart/report; report-type="delivery-status"'), autoreply.DELIVERY_REPORT),
    ("Multipart/Report mixed case", mail(content_type="Multipart/Report"), autoreply.DELIVERY_REPORT),
    ("message/delivery-status", mail(content_type="message/delivery-status"),
     autoreply.DELIVERY_REPORT),
    ("our SMTP address", mail(from_addr="Mailer@Example.com"), autoreply.OWN_ADDRESS),
    ("our IMAP address", mail(from_addr="support@example.com"), autoreply.OWN_ADDRESS),
    ("the mailbox it came in to", mail(from_addr="sales@example.com", account="sales@example.com"),
     autoreply.OWN_ADDRESS),
]

REPLIED: list[tuple[str, RawEmail]] = [
    ("plain mail", mail()),
    ("auto-submitted no", mail({"auto-submitted": ["no"]})),
    ("auto-submitted No with comment", mail({"auto-submitted": ["No (a person wrote this)"]})),
    ("auto-submitted no, folded", mail({"auto-submitted": ["\r\n no"]})),
    ("auto-submitted no repeated", mail({"auto-submitted": ["no", " NO "]})),
    ("precedence normal", mail({"precedence": ["normal"]})),
    ("precedence first-class", mail({"precedence": ["first-class"]})),
    ("x-auto-response-suppress without All/OOF/AutoReply",
     mail({"x-auto-response-suppress": ["DR, RN"]})),
    ("x-auto-response-suppress AllX is not All", mail({"x-auto-response-suppress": ["Allx"]})),
    ("no return path header at all", mail(return_path=None)),
    ("a header merely mentioning list", mail({"x-list": ["yes"], "listing": ["a"]})),
    ("sender looks like a person named Noreen", mail(from_addr="noreen@example.org")),
    ("a person whose name only starts like noreply", mail(from_addr="noreplyclub@example.org")),
    ("request in the middle", mail(from_addr="requests-team@example.org")),
    ("owner without dash", mail(from_addr="owner@example.org")),
    ("postmaster as domain only", mail(from_addr="ana@postmaster.example.org")),
    ("multipart/mixed", mail(content_type="multipart/mixed; boundary=x")),
    ("another address at our domain", mail(from_addr="ana@example.com")),
]


@pytest.mark.parametrize(("case", "email", "reason"), SUPPRESSED, ids=[c[0] for c in SUPPRESSED])
def test_both_stages_refuse_with_the_same_reason(case: str, email: RawEmail, reason: str) -> None:
    """Every checklist item stops the reply in the processor and the responder alike."""
    found = refusal(email, OWN)  # the responder's check before SMTP
    assert found is not None and found.code == reason and not found.review, case
    verdict = never_answer(email, OWN)  # the processor's: category automated, same code
    assert verdict is not None and verdict.category == "automated", case
    assert verdict.code == reason and verdict.reason == found.detail, case


@pytest.mark.parametrize(("case", "email"), REPLIED, ids=[c[0] for c in REPLIED])
def test_both_stages_allow_ordinary_mail(case: str, email: RawEmail) -> None:
    """Near misses of the checklist still get their reply, in both stages."""
    assert refusal(email, OWN) is None, case
    assert never_answer(email, OWN) is None, case


def test_every_reason_is_covered_by_the_table() -> None:
    """The table exercises every loop reason code the guard can return."""
    assert {reason for _c, _e, reason in SUPPRESSED} == set(autoreply.LOOP_REASONS)


def test_every_header_the_guard_reads_is_kept_by_the_parsers() -> None:
    """A header the guard needs but a parser drops would make the check blind."""
    from mailroom.collector.headers import is_relevant
    from mailroom.processor.eml import HEADERS_KEPT

    for name in autoreply.HEADERS_READ:
        assert is_relevant(name), name
        assert name in HEADERS_KEPT, name


def test_own_address_needs_the_configured_addresses() -> None:
    """Without our addresses configured, only the mailbox the mail came in to is ours."""
    assert loop_refusal(mail(from_addr="mailer@example.com")) is None
    found = loop_refusal(mail(from_addr="support@example.com"))
    assert found is not None and found.code == autoreply.OWN_ADDRESS


def test_own_addresses_come_from_the_settings_once(tmp_path: Any) -> None:
    """SMTP sender, IMAP login and every mailboxes.yaml account, lower-case, logins kept out."""
    settings = Settings(_env_file=None, smtp_email="Mailer@Example.com",
                        imap_email="support@example.com")
    assert own_addresses(settings) == {"mailer@example.com", "support@example.com"}
    listing = tmp_path / "mailboxes.yaml"
    listing.write_text(
        "accounts:\n"
        "  - {name: sales, server: imap.example.com, user: Sales@Example.com, password: x}\n"
        "  - {name: old, server: imap.example.com, user: legacy-login, password: x}\n")
    settings = Settings(_env_file=None, smtp_email="mailer@example.com",
                        mailroom_mailboxes=listing)
    assert own_addresses(settings) == {"mailer@example.com", "sales@example.com"}


def test_unfold_removes_folding_and_nested_comments() -> None:
    assert unfold("auto-\r\n replied (a (nested) comment)") == "auto- replied"


def test_both_stages_use_one_language_detector_and_one_own_address_set() -> None:
    """The collector and the processor call the same detector (same thresholds), and the
    processor's own addresses are ``own_addresses(settings)``, as the other stages'."""
    from mailroom import language
    from mailroom.collector import parse
    from mailroom.processor import classify

    assert vars(parse)["detect_language"] is language.detect_language
    assert vars(classify)["detect_language"] is language.detect_language
    settings = Settings(_env_file=None, smtp_email="mailer@example.com",
                        imap_email="support@example.com")
    assert classify.ClassifyParams.from_settings(settings).own_addresses == own_addresses(settings)


def test_the_plain_address_shortcut_reads_what_getaddresses_reads(corpora: Path) -> None:
    """``_addresses`` reads a plain one-address value itself (most From, Sender and
    Return-Path values) and gives the rest to ``getaddresses``: over every address header
    of the corpora and odd hand-made values, both read the same addresses."""
    values = []
    for path in sorted(p for p in corpora.rglob("*") if p.is_file() and p.stat().st_size < 2_000_000):
        message = message_from_bytes(path.read_bytes(), policy=policy.compat32)
        for name in ("from", "sender", "return-path", "reply-to", "to", "cc"):
            values += [unfold(str(v)) for v in message.get_all(name) or []]
    names = ["", " ", "Ana", "John Q. Public", "José Pérez", '"Pérez, José"', '"a\\" b"', ". .",
             "_x_", "'quoted'", "a (comment)", "Group:", "=?utf-8?q?Jos=C3=A9?="]
    addresses = ["a@b.c", "a.b+c@d-e.f", "A@B.C", "a..b@c", ".a@b", "a@b..c", "a@b.c.", "a@[1.2.3.4]",
                 "a b@c", "a@b", "@b.c", "a@", "<>", "a@b.c, d@e.f", "\"a b\"@c.d"]
    values += [form.format(name, address) for name in names for address in addresses
               for form in ("{0} <{1}>", "{0}<{1}>", "  {0}  < {1} >", "{1}", " {1}\t", "<{1}>")]
    assert len(values) > 1000
    shortcut = [v for v in values if autoreply._ONE_ADDRESS.fullmatch(v)]
    assert len(shortcut) > 300  # the shortcut is taken, not only the fallback
    # the rest go to _parsed_addresses itself, so only the shortcut's readings are compared
    for value in shortcut:
        assert autoreply._addresses([value]) == autoreply._parsed_addresses(value), value
