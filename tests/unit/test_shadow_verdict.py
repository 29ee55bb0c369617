"""Shadow mode's reviewer verdicts (pure): what counts as agreeing with a would-be reply."""

from __future__ import annotations

from mailroom.store.shadow import ShadowSummary, Verdict, verdict

T, C = "subscription", "subscription"


def test_replying_with_the_same_template_agrees() -> None:
    assert verdict(T, C, "replied", ["subscription"], []) is Verdict.AGREE


def test_another_template_or_a_written_reply_disagrees() -> None:
    assert verdict(T, C, "replied", ["manual"], []) is Verdict.DISAGREE
    assert verdict(T, C, "replied", ["other-template"], [C]) is Verdict.DISAGREE


def test_the_latest_category_a_reviewer_saved_decides_when_nobody_replied() -> None:
    assert verdict(T, C, "in_review", [], ["subscription"]) is Verdict.AGREE
    assert verdict(T, C, "in_review", [], ["subscription", "unsubscription"]) is Verdict.DISAGREE
    assert verdict(T, C, "closed", [], ["spam", "subscription"]) is Verdict.AGREE


def test_closing_without_reply_disagrees_and_no_action_is_pending() -> None:
    assert verdict(T, C, "closed", [], []) is Verdict.DISAGREE
    assert verdict(T, C, "in_review", [], []) is Verdict.PENDING


def test_precision_is_the_agreed_share_of_judged_would_be_replies() -> None:
    assert ShadowSummary(10, 3, 1).precision == 0.75
    assert ShadowSummary(10, 3, 1).pending == 6
    assert ShadowSummary(4, 0, 0).precision is None
