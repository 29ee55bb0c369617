"""Reading IMAP responses as aioimaplib hands them over (pure)."""

from __future__ import annotations

import asyncio

import aioimaplib
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.collector.imap_responses import (
    FetchedItem,
    FolderState,
    alarm,
    is_news,
    parse_fetch,
    parse_search,
    parse_select,
    quote_mailbox,
    uid_set,
)


def test_select_reads_uidvalidity_uidnext_and_exists() -> None:
    lines = [b"FLAGS (\\Seen)", b"3 EXISTS", b"0 RECENT", b"OK [UIDVALIDITY 1795827809] UIDs valid",
             b"OK [UIDNEXT 4] Predicted next UID", b"[READ-WRITE] Select completed (0.003 secs)."]
    assert parse_select(lines) == FolderState(uidvalidity=1795827809, uidnext=4, exists=3)


def test_search_ignores_the_status_line_and_the_search_word() -> None:
    assert parse_search([b"1 2 3", b"Search completed (0.001 + 0.000 secs)."]) == [1, 2, 3]
    assert parse_search([b"SEARCH 7 9", b"OK done"]) == [7, 9]
    assert parse_search([b"", b"Search completed (1 secs)."]) == []


def test_fetch_pairs_each_literal_with_its_uid_in_any_item_order() -> None:
    lines: list[bytes | bytearray] = [
        b"1 FETCH (UID 10 RFC822.SIZE 5 BODY[] {5}", bytearray(b"hello"), b")",
        b"2 FETCH (BODY[] {3}", bytearray(b"abc"), b" UID 11 RFC822.SIZE 3)",
        b"3 FETCH (UID 12 RFC822.SIZE 0 BODY[] \"\")",
        b"4 FETCH (FLAGS (\\Seen))",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    assert parse_fetch(lines) == {
        10: FetchedItem(10, 5, b"hello"),
        11: FetchedItem(11, 3, b"abc"),
        12: FetchedItem(12, 0, b""),
    }


def test_fetch_literal_that_looks_like_a_fetch_line_stays_a_body() -> None:
    lines: list[bytes | bytearray] = [
        b"1 FETCH (UID 3 BODY[] {12}", bytearray(b"2 FETCH (UID"), b")", b"done"]
    assert parse_fetch(lines) == {3: FetchedItem(3, None, b"2 FETCH (UID")}


def test_fetch_of_sizes_only_has_no_body() -> None:
    lines = [b"1 FETCH (UID 1 RFC822.SIZE 41)", b"2 FETCH (UID 2 RFC822.SIZE 22)", b"Fetch completed."]
    assert parse_fetch(lines) == {1: FetchedItem(1, 41, None), 2: FetchedItem(2, 22, None)}


def test_uid_set_compresses_runs() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"


def test_mailbox_names_are_quoted() -> None:
    assert quote_mailbox('My "Sales" \\ Box') == '"My \\"Sales\\" \\\\ Box"'


def test_idle_pushes_news_and_alarms() -> None:
    assert is_news([b"4 EXISTS", b"4 RECENT"])
    assert not is_news([b"OK Still here"])
    assert alarm([b"NO Internal error occurred."]) is not None
    assert alarm([b"BYE Server shutting down"]) is not None
    assert alarm([b"OK [UIDVALIDITY 99] changed"]) is not None
    assert alarm([b"OK Still here", b"3 EXPUNGE"]) is None


def _wait_data_as_aioimaplib_does(command: aioimaplib.FetchCommand) -> bool:
    """aioimaplib 2.0's ``FetchCommand.wait_data``, the quadratic original we replaced."""
    lines = command._resp_lines
    last_fetch_index = 0
    for index, line in enumerate(lines):
        if isinstance(line, bytes) and command.FETCH_MESSAGE_DATA_RE.match(line):
            last_fetch_index = index
    joined = b"".join(x for x in lines[last_fetch_index:] if isinstance(x, bytes))
    return joined.count(b"(") != joined.count(b")")


_RESPONSE_LINE = st.one_of(
    st.builds(lambda n, rest: b"%d FETCH (" % n + rest, st.integers(1, 999),
              st.sampled_from([b"UID 7 RFC822.SIZE 12 BODY[] {12}", b"UID 8)", b"FLAGS (\\Seen))",
                               b"UID 9 BODY[] {3}"])),
    st.sampled_from([b")", b" UID 7)", b"(", b"x (y) z", b"", b"* OK still here"]),
    st.binary(max_size=20).map(bytearray),  # literal data is appended as a bytearray
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_RESPONSE_LINE, max_size=40))
def test_incremental_fetch_wait_data_answers_as_aioimaplib(lines: list[bytes]) -> None:
    """The collector's linear ``wait_data`` gives aioimaplib's answer after every line."""
    import mailroom.collector.imap  # noqa: F401  (installs the replacement)

    assert aioimaplib.FetchCommand.wait_data.__module__ == "mailroom.collector.imap"

    loop = asyncio.new_event_loop()
    try:
        command = aioimaplib.FetchCommand("A1", "1:*", "(UID)", loop=loop)
        for line in lines:
            command._resp_lines.append(line)
            assert command.wait_data() == _wait_data_as_aioimaplib_does(command)
    finally:
        loop.close()
