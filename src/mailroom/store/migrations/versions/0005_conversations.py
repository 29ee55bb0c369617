"""Conversations (issue 18): mails.thread_id, and indexes to find an answer's earlier mail
or our reply by Message-ID.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # mails received before this revision start without a conversation; answers to them
    # still find them by Message-ID and link both
    op.add_column("mails", sa.Column("thread_id", sa.String(64)))
    op.create_index("ix_mails_thread", "mails", ["thread_id", "collected_at"])
    op.create_index("ix_mails_message_id", "mails", ["message_id"])
    # the queue (one row per conversation) reads status, age and conversation from the index
    op.drop_index("ix_mails_status_collected", "mails")
    op.create_index("ix_mails_status_collected", "mails", ["status", "collected_at", "thread_id"])
    op.create_index("ix_replies_message_id", "replies", ["message_id"])


def downgrade() -> None:
    raise NotImplementedError("mailroom migrates forward only; restore a backup to go back")
