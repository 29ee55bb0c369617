"""A customer's answer in a conversation we replied in goes to a person (pure).

An automatic acknowledgement answered by another automatic acknowledgement is how a loop
with a person starts ("thanks, received" - "thanks for your thanks"), and an answer to a
reviewer's reply is a conversation a person is having: either way it goes to review. In
``AUTOREPLY_MODE=shadow`` such a mail loses its would-be reply too: mode ``on`` would not
have sent one.
"""

from __future__ import annotations

from mailroom.events import Decision, Route
from mailroom.store.threads import Link


def route_answer(decision: Decision, link: Link | None) -> Decision:
    """The decision for a mail, given where it sits in a conversation."""
    if link is None or not link.answers_our_reply or \
            (decision.route is not Route.ACKNOWLEDGE and decision.would_reply is None):
        return decision
    return decision.model_copy(update={
        "route": Route.REVIEW, "template": None, "would_reply": None,
        "reasons": [*decision.reasons, "answers a reply we sent: a person reads it"]})
