"""The books check itself: each broken promise is caught (so no scenario passes vacuously)."""

from __future__ import annotations

from collections import Counter

import pytest
from books import Books, assert_books

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def row(mail_id: str, status: str) -> dict[str, object]:
    return {"mail_id": mail_id, "status": status, "message_id": f"<{mail_id}@t>"}


def balanced() -> Books:
    rows = {"a": row("a", "replied"), "b": row("b", "in_review"), "c": row("c", "failed")}
    letters: list[dict[str, object]] = [
        {"source_topic": "acknowledgement_queue", "mail_id": "c", "uid": 3,
         "reason": "550 5.1.1 No such user", "error_type": "SmtpPermanent"}]
    return Books(rows, letters, Counter({"a@t": 1}), 1)


def test_balanced_books_have_no_problems() -> None:
    assert balanced().problems(expected_rows=3) == []
    assert_books(balanced(), expected_rows=3, wanted_replies=["<a@t>"], must_fail=["<c@t>"])


@pytest.mark.parametrize(("spoil", "expected"), [
    (lambda b: b.replies.update({"a@t": 1}) or setattr(b, "sent_total", 2), "more than once"),
    (lambda b: b.rows.pop("b"), "expected 3"),
    (lambda b: b.rows["b"].update(status="collected"), "still open"),
    (lambda b: b.letters.clear(), "without a dead letter reason"),
    (lambda b: b.replies.clear() or setattr(b, "sent_total", 0), "no reply at the sink"),
    (lambda b: b.replies.update({"b@t": 1}) or setattr(b, "sent_total", 2), "not marked replied"),
    (lambda b: setattr(b, "sent_total", 2), "without In-Reply-To"),
])
def test_each_broken_promise_is_reported(spoil: object, expected: str) -> None:
    books = balanced()
    assert callable(spoil)
    spoil(books)
    books.__post_init__()
    assert any(expected in p for p in books.problems(expected_rows=3)), books.problems(3)


def test_a_mail_owed_a_reply_without_one_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="owed a reply"):
        assert_books(balanced(), expected_rows=3, wanted_replies=["<b@t>"])
    with pytest.raises(AssertionError, match="must fail did not"):
        assert_books(balanced(), expected_rows=3, must_fail=["<b@t>"])


def test_a_cut_off_send_in_review_may_have_one_reply_but_not_two() -> None:
    """An ``uncertain`` reply row excuses one reply to an in-review mail, never two."""
    books = balanced()
    books.replies.update({"b@t": 1})
    books.sent_total = 2
    assert any("not marked replied" in p for p in books.problems(3))
    books.uncertain = {"b"}
    assert books.problems(3) == []
    books.replies.update({"b@t": 1})
    books.sent_total = 3
    assert any("more than once" in p for p in books.problems(3))


def test_a_mail_without_message_id_is_matched_by_the_address_its_reply_went_to() -> None:
    """Its reply cannot carry In-Reply-To; it is counted against the sender, once."""
    from books import unthreaded

    books = balanced()
    books.rows["d"] = {"mail_id": "d", "status": "replied", "message_id": "",
                       "from_addr": "Zoe@Example.org"}
    books.__post_init__()
    assert any("no reply at the sink" in p for p in books.problems(4))
    books.replies.update({unthreaded("zoe@example.org"): 1})
    books.sent_total = 2
    assert books.problems(4) == []
    books.replies.update({unthreaded("zoe@example.org"): 1})
    books.sent_total = 3
    assert any("more than once" in p for p in books.problems(4))
