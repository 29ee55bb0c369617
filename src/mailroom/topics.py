"""Topic names and how message keys are built."""

from __future__ import annotations

import hashlib

RAW_EMAILS = "raw_emails"
CLASSIFIED_EMAILS = "classified_emails"
ACKNOWLEDGEMENT_QUEUE = "acknowledgement_queue"
HUMAN_REVIEW = "human_review"
DEAD_LETTER = "dead_letter"

ALL_TOPICS = (RAW_EMAILS, CLASSIFIED_EMAILS, ACKNOWLEDGEMENT_QUEUE, HUMAN_REVIEW, DEAD_LETTER)


def mail_id(account: str, folder: str, message_id: str | None, content: bytes) -> str:
    """A stable id for one mail in one mailbox.

    Built from the mailbox and the Message-ID, or a hash of the content when the
    Message-ID is missing, so the same mail collected twice (a retried fetch, a changed
    UIDVALIDITY) gets the same id and is recognised as known.
    """
    ident = message_id.strip() if message_id and message_id.strip() else (
        "sha256:" + hashlib.sha256(content).hexdigest()
    )
    digest = hashlib.sha256(f"{account}\x00{folder}\x00{ident}".encode()).hexdigest()
    return digest[:32]
