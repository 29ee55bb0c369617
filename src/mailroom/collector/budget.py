"""How many of the next UIDs one FETCH takes: a count and a byte budget (pure).

The count alone bounds nothing when mails are big: 500 mails of 20 MB are 10 GB in one
answer. The byte budget keeps a batch's memory bounded whatever the mails are, so the
count can be large for the common case of many small mails (fewer round trips and
commits per mail).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# what a headers-only fetch of a mail over MAX_EMAIL_BYTES is counted as
HEADERS_ONLY_COST = 64 * 1024


def within_budget(uids: Sequence[int], sizes: Mapping[int, int | None], *,
                  max_email_bytes: int, budget: int) -> list[int]:
    """The longest prefix of ``uids`` whose mails fit ``budget`` bytes; never empty.

    A mail over ``max_email_bytes`` is fetched headers-only and counts as
    ``HEADERS_ONLY_COST``; a UID without a size (expunged meanwhile) costs nothing. The
    first UID is always taken, so one mail bigger than the budget still moves on.
    """
    taken: list[int] = []
    used = 0
    for uid in uids:
        size = sizes.get(uid)
        cost = 0 if size is None else (size if size <= max_email_bytes else HEADERS_ONLY_COST)
        if taken and used + cost > budget:
            break
        taken.append(uid)
        used += cost
    return taken
