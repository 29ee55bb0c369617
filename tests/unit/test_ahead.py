"""How many UIDs the collector's next FETCH may take (``collector.ahead.batch_size``)."""

from __future__ import annotations

from mailroom.collector.ahead import batch_size


def test_no_bound_and_no_quota_take_what_is_wanted() -> None:
    assert batch_size(500, in_flight=10**6, max_ahead=0, quota_left=None) == 500


def test_the_batch_is_cut_to_the_room_left_so_the_bound_is_never_passed() -> None:
    assert batch_size(800, in_flight=1_450, max_ahead=2_000, quota_left=None) == 550
    assert batch_size(50, in_flight=0, max_ahead=40, quota_left=None) == 40
    for in_flight in range(0, 60):
        took = batch_size(50, in_flight=in_flight, max_ahead=40, quota_left=None)
        assert in_flight + took <= max(40, in_flight)


def test_a_full_pipeline_waits() -> None:
    assert batch_size(500, in_flight=2_000, max_ahead=2_000, quota_left=None) == 0
    assert batch_size(500, in_flight=2_600, max_ahead=2_000, quota_left=None) == 0


def test_a_nearly_full_pipeline_waits_for_a_quarter_of_the_bound_not_a_few_mails() -> None:
    assert batch_size(500, in_flight=1_990, max_ahead=2_000, quota_left=None) == 0
    assert batch_size(500, in_flight=1_500, max_ahead=2_000, quota_left=None) == 500
    assert batch_size(500, in_flight=1_501, max_ahead=2_000, quota_left=None) == 0


def test_a_small_want_goes_as_soon_as_it_fits() -> None:
    """A few new mails (a quiet folder) are not held back for a quarter of the bound."""
    assert batch_size(3, in_flight=1_990, max_ahead=2_000, quota_left=None) == 3
    assert batch_size(3, in_flight=1_998, max_ahead=2_000, quota_left=None) == 0
    assert batch_size(1, in_flight=0, max_ahead=1, quota_left=None) == 1


def test_the_recycle_quota_cuts_the_batch_then_holds() -> None:
    assert batch_size(500, in_flight=0, max_ahead=0, quota_left=120) == 120
    assert batch_size(500, in_flight=0, max_ahead=2_000, quota_left=0) == 0
    assert batch_size(500, in_flight=0, max_ahead=2_000, quota_left=-5) == 0
    # the last few of the quota go even into a nearly full pipeline, if they fit
    assert batch_size(500, in_flight=1_990, max_ahead=2_000, quota_left=4) == 4
