"""The RFC 3834 / Pigeonhole loop-guard checklist, in both directions."""

from __future__ import annotations

from typing import Any

import pytest

from mailroom.events import RawEmail
from mailroom.responder import guard
from mailroom.responder.guard import loop_reason, unfold

OWN = ("support@example.com", "mailer@example.com")


def mail(headers: dict[str, list[str]] | None = None, **fields: Any) -> RawEmail:
    values: dict[str, Any] = {"mail_id": "m1", "account": "support@example.com", "folder": "INBOX",
                              "from_addr": "ana@example.org", "return_path": "<ana@example.org>",
                              "subject": "Suscripción", "headers": headers or {}}
    values.update(fields)
    return RawEmail(**values)


SUPPRESSED: list[tuple[str, RawEmail, str]] = [
    ("auto-submitted auto-replied", mail({"auto-submitted": ["auto-replied"]}), guard.AUTO_SUBMITTED),
    ("auto-submitted auto-notified", mail({"auto-submitted": ["auto-notified"]}), guard.AUTO_SUBMITTED),
    ("auto-submitted auto-generated mixed case",
     mail({"auto-submitted": ["Auto-Generated"]}), guard.AUTO_SUBMITTED),
    ("auto-submitted with comment and parameter",
     mail({"auto-submitted": [" auto-replied (vacation); owner-email=x@y"]}), guard.AUTO_SUBMITTED),
    ("auto-submitted folded", mail({"auto-submitted": ["auto-\r\n replied"]}), guard.AUTO_SUBMITTED),
    ("auto-submitted repeated, one not 'no'",
     mail({"auto-submitted": ["no", "auto-replied"]}), guard.AUTO_SUBMITTED),
    ("auto-submitted unknown value", mail({"auto-submitted": ["yes-please"]}), guard.AUTO_SUBMITTED),
    ("auto-submitted empty", mail({"auto-submitted": [""]}), guard.AUTO_SUBMITTED),
    ("precedence bulk", mail({"precedence": ["bulk"]}), guard.PRECEDENCE),
    ("precedence LIST upper case", mail({"precedence": ["LIST"]}), guard.PRECEDENCE),
    ("precedence junk with comment", mail({"precedence": ["junk (spam)"]}), guard.PRECEDENCE),
    ("precedence repeated, second bulk", mail({"precedence": ["normal", "bulk"]}), guard.PRECEDENCE),
    ("precedence folded", mail({"precedence": ["\r\n\tbulk"]}), guard.PRECEDENCE),
    *[(f"{h} present", mail({h: ["<x.lists.example.org>"]}), guard.LIST_HEADER)
      for h in guard.LIST_HEADERS],
    ("list-id empty", mail({"list-id": [""]}), guard.LIST_HEADER),
    ("x-auto-response-suppress All", mail({"x-auto-response-suppress": ["All"]}),
     guard.AUTO_RESPONSE_SUPPRESS),
    ("x-auto-response-suppress list with oof",
     mail({"x-auto-response-suppress": ["DR, RN,NRN,\r\n OOF"]}), guard.AUTO_RESPONSE_SUPPRESS),
    ("return path <>", mail(return_path="<>"), guard.NULL_RETURN_PATH),
    ("return path empty", mail(return_path=""), guard.NULL_RETURN_PATH),
    ("return path < > header", mail({"return-path": ["< >"]}, return_path=None),
     guard.NULL_RETURN_PATH),
    ("MAILER-DAEMON", mail(from_addr="MAILER-DAEMON@mx.example.org"), guard.SYSTEM_SENDER),
    ("postmaster", mail(from_addr="Postmaster@example.org"), guard.SYSTEM_SENDER),
    ("LISTSERV", mail(from_addr="LISTSERV@lists.example.org"), guard.SYSTEM_SENDER),
    ("majordomo", mail(from_addr="majordomo@example.org"), guard.SYSTEM_SENDER),
    ("-request", mail(from_addr="users-request@lists.example.org"), guard.SYSTEM_SENDER),
    ("owner-", mail(from_addr="owner-users@lists.example.org"), guard.SYSTEM_SENDER),
    ("system return path only", mail(return_path="<mailer-daemon@mx.example.org>"),
     guard.SYSTEM_SENDER),
    ("noreply", mail(from_addr="noreply@shop.example"), guard.NOREPLY_SENDER),
    ("no-reply mixed case", mail(from_addr="No-Reply@shop.example"), guard.NOREPLY_SENDER),
    ("do-not-reply", mail(from_addr="do-not-reply@bank.example"), guard.NOREPLY_SENDER),
    ("donotreply with tag", mail(from_addr="donotreply+x@bank.example"), guard.NOREPLY_SENDER),
    ("noreply in display form", mail(from_addr="Shop <no_reply@shop.example>"), guard.NOREPLY_SENDER),
    ("multipart/report DSN",
     mail(content_type='multipart/report; report-type="delivery-status"'), guard.DELIVERY_REPORT),
    ("Multipart/Report mixed case", mail(content_type="Multipart/Report"), guard.DELIVERY_REPORT),
    ("our SMTP address", mail(from_addr="Mailer@Example.com"), guard.OWN_ADDRESS),
    ("our IMAP address", mail(from_addr="support@example.com"), guard.OWN_ADDRESS),
]

REPLIED: list[tuple[str, RawEmail]] = [
    ("plain mail", mail()),
    ("auto-submitted no", mail({"auto-submitted": ["no"]})),
    ("auto-submitted No with comment", mail({"auto-submitted": ["No (a person wrote this)"]})),
    ("auto-submitted no, folded", mail({"auto-submitted": ["\r\n no"]})),
    ("auto-submitted no repeated", mail({"auto-submitted": ["no", " NO "]})),
    ("precedence normal", mail({"precedence": ["normal"]})),
    ("precedence first-class", mail({"precedence": ["first-class"]})),
    ("x-auto-response-suppress without All/OOF", mail({"x-auto-response-suppress": ["DR, RN"]})),
    ("x-auto-response-suppress AllX is not All", mail({"x-auto-response-suppress": ["Allx"]})),
    ("no return path header at all", mail(return_path=None)),
    ("a header merely mentioning list", mail({"x-list": ["yes"], "listing": ["a"]})),
    ("sender looks like a person named Noreen", mail(from_addr="noreen@example.org")),
    ("request in the middle", mail(from_addr="requests-team@example.org")),
    ("owner without dash", mail(from_addr="owner@example.org")),
    ("postmaster as domain only", mail(from_addr="ana@postmaster.example.org")),
    ("multipart/mixed", mail(content_type="multipart/mixed; boundary=x")),
    ("another address at our domain", mail(from_addr="ana@example.com")),
]


@pytest.mark.parametrize(("case", "email", "reason"), SUPPRESSED, ids=[c[0] for c in SUPPRESSED])
def test_guard_suppresses_with_reason(case: str, email: RawEmail, reason: str) -> None:
    """Every item of the checklist stops the auto-reply and names its reason."""
    assert loop_reason(email, OWN) == reason, case


@pytest.mark.parametrize(("case", "email"), REPLIED, ids=[c[0] for c in REPLIED])
def test_guard_allows_ordinary_mail(case: str, email: RawEmail) -> None:
    """Near misses of the checklist still get their reply."""
    assert loop_reason(email, OWN) is None, case


def test_every_reason_is_covered_by_the_table() -> None:
    """The table exercises every reason code the guard can return."""
    assert {reason for _c, _e, reason in SUPPRESSED} == set(guard.REASONS)


def test_own_address_needs_the_configured_addresses() -> None:
    """Without our addresses configured, a mail from them is not an own-address loop."""
    assert loop_reason(mail(from_addr="support@example.com")) is None


def test_unfold_removes_folding_and_nested_comments() -> None:
    assert unfold("auto-\r\n replied (a (nested) comment)") == "auto- replied"
