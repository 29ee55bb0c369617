"""Which Message-IDs a mail answers, and how an answer in a conversation is routed (pure)."""

from __future__ import annotations

from mailroom.events import Decision, RawEmail, Route
from mailroom.processor.conversation import route_answer
from mailroom.store.threads import Link, references

ACK = Decision(mail_id="m", category="subscription", route=Route.ACKNOWLEDGE, template="subscription")


def email(**fields: object) -> RawEmail:
    return RawEmail.model_validate({"mail_id": "m", "account": "a", "folder": "INBOX", "uid": 1,
                                    "subject": "Re: hi", "from_addr": "ana@example.org", **fields})


def test_in_reply_to_comes_first_then_the_newest_reference_and_no_repeats() -> None:
    mail = email(in_reply_to="<b@x>", references=["<a@x>", "<b@x>", " "])
    assert references(mail) == ["<b@x>", "<a@x>"]
    assert references(email()) == []


def test_an_answer_to_our_reply_goes_to_review_with_a_reason() -> None:
    routed = route_answer(ACK, Link("t", "p", answers_our_reply=True))
    assert (routed.route, routed.template) == (Route.REVIEW, None)
    assert routed.reasons[-1] == "answers a reply we sent: a person reads it"


def test_in_shadow_mode_an_answer_to_our_reply_is_no_would_be_reply() -> None:
    shadowed = ACK.model_copy(update={"route": Route.REVIEW, "would_reply": "subscription"})
    routed = route_answer(shadowed, Link("t", "p", answers_our_reply=True))
    assert (routed.route, routed.template, routed.would_reply) == (Route.REVIEW, None, None)
    assert route_answer(shadowed, None) is shadowed


def test_other_mails_keep_their_route() -> None:
    assert route_answer(ACK, None) is ACK
    assert route_answer(ACK, Link("t", "p", answers_our_reply=False)) is ACK
    archived = ACK.model_copy(update={"route": Route.ARCHIVE})
    assert route_answer(archived, Link("t", "p", answers_our_reply=True)) is archived
