"""atheris fuzz target: the collector's parser never raises anything but ``UnparseableMail``.

Run it for as long as you like::

    .venv/bin/python tests/fuzz/fuzz_parse.py -atheris_runs=100000 [corpus_dir]

A seed corpus directory given on the command line is where libFuzzer also writes new
inputs, so give it a scratch copy, never ``../shared/corpora`` itself. CI runs it briefly
through ``tests/fuzz/test_fuzz_parse.py``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from mailroom.collector.parse import ParseLimits, UnparseableMail, parse_message

# small limits so the fuzzer reaches the "too deep", "too many parts" and "too large" paths
LIMITS = ParseLimits(max_bytes=64 * 1024, max_depth=8, max_parts=50, max_body_chars=20_000)


def check_one(data: bytes) -> None:
    """The property: an event whose ids are set, or ``UnparseableMail`` with a reason."""
    try:
        event = parse_message(data, account="fuzz@example.com", folder="INBOX", uid=1,
                              uidvalidity=1, limits=LIMITS)
    except UnparseableMail as exc:
        if not exc.reason:
            raise AssertionError("UnparseableMail without a reason") from None
        return
    if not event.mail_id or "\r" in event.subject or "\n" in event.subject:
        raise AssertionError(f"bad event: mail_id={event.mail_id!r} subject={event.subject!r}")


def main() -> None:
    atheris.Setup(sys.argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
