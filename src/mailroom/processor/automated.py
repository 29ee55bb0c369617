"""Mail that must never be answered, and answers that need a person first (pure).

The RFC 3834 checks live in ``mailroom.autoreply``, which the responder calls again before
SMTP; here they become the processor's verdicts. An auto-generated mail is categorised
``automated`` and never routed to ``acknowledgement_queue``; upstream spam verdicts put a
mail in ``spam``. An acknowledgement whose reply address is doubtful (several Reply-To,
or a system, no-reply or own address in it) goes to review with that reason.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from mailroom.autoreply import Refusal, loop_refusal, reply_target
from mailroom.events import Decision, RawEmail, Route

AUTOMATED = "automated"
SPAM = "spam"


@dataclass(frozen=True)
class Verdict:
    category: str  # "automated" or "spam"
    reason: str
    code: str = ""  # the autoreply reason code of an automated verdict


def _values(email: RawEmail, name: str) -> list[str]:
    return [v.strip() for v in email.headers.get(name, [])]


def spam_verdict(email: RawEmail) -> Verdict | None:
    """An upstream filter's spam verdict (SpamAssassin-style headers), if any."""
    for value in _values(email, "x-spam-flag"):
        if value.upper().startswith("YES"):
            return Verdict(SPAM, f"X-Spam-Flag: {value[:60]}")
    for value in _values(email, "x-spam-status"):
        if value.lower().startswith("yes"):
            return Verdict(SPAM, f"X-Spam-Status: {value[:60]}")
    return None


def automated_verdict(email: RawEmail, own_addresses: Collection[str] = ()) -> Verdict | None:
    """Why this mail must not be answered (``mailroom.autoreply.loop_refusal``), if so."""
    found = loop_refusal(email, own_addresses)
    return Verdict(AUTOMATED, found.detail, found.code) if found is not None else None


def never_answer(email: RawEmail, own_addresses: Collection[str] = ()) -> Verdict | None:
    """Spam verdict first (it is kept apart), then the auto-generated checks."""
    return spam_verdict(email) or automated_verdict(email, own_addresses)


def doubtful_address_to_review(email: RawEmail, decision: Decision,
                               own_addresses: Collection[str] = ()) -> Decision:
    """An acknowledgement goes to review when its one reply address is in doubt.

    The same ``reply_target`` the responder uses: several Reply-To addresses, or one that
    is a system, no-reply or own address, is never answered (nor answered elsewhere)
    without a person.
    """
    if decision.route is not Route.ACKNOWLEDGE:
        return decision
    target = reply_target(email, own_addresses)
    if not isinstance(target, Refusal):
        return decision
    return decision.model_copy(update={
        "route": Route.REVIEW,
        "reasons": [*decision.reasons, f"reply address in doubt ({target.code}): {target.detail}"]})
