"""How many UIDs one FETCH takes: the byte budget (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailroom.collector.budget import HEADERS_ONLY_COST, within_budget

MB = 1024 * 1024


def test_small_mails_all_fit() -> None:
    assert within_budget([1, 2, 3], {1: 10, 2: 10, 3: 10}, max_email_bytes=MB, budget=MB) == [1, 2, 3]


def test_batch_stops_before_the_budget_is_exceeded() -> None:
    sizes = {1: 400_000, 2: 400_000, 3: 400_000, 4: 10}
    assert within_budget([1, 2, 3, 4], sizes, max_email_bytes=MB, budget=MB) == [1, 2]


def test_one_mail_bigger_than_the_budget_still_moves_on_alone() -> None:
    assert within_budget([7, 8], {7: 5 * MB, 8: 10}, max_email_bytes=10 * MB, budget=MB) == [7]


def test_oversize_mails_count_as_headers_only_and_expunged_ones_as_nothing() -> None:
    sizes = {1: 50 * MB, 2: 50 * MB, 3: None}  # 3: expunged between SEARCH and FETCH
    taken = within_budget([1, 2, 3, 4], sizes, max_email_bytes=25 * MB,
                          budget=2 * HEADERS_ONLY_COST)
    assert taken == [1, 2, 3, 4]


@given(st.lists(st.integers(0, 3 * MB), min_size=1, max_size=50), st.integers(1, 4 * MB))
def test_a_prefix_within_budget_or_a_single_mail(sizes: list[int], budget: int) -> None:
    uids = list(range(1, len(sizes) + 1))
    taken = within_budget(uids, dict(zip(uids, sizes, strict=True)),
                          max_email_bytes=2 * MB, budget=budget)
    assert taken == uids[:len(taken)] and taken
    cost = sum(s if s <= 2 * MB else HEADERS_ONLY_COST for s in sizes[:len(taken)])
    assert cost <= budget or len(taken) == 1
    if len(taken) < len(uids):  # it stopped because the next mail would not fit
        nxt = sizes[len(taken)]
        assert cost + (nxt if nxt <= 2 * MB else HEADERS_ONLY_COST) > budget
