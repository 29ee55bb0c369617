"""Shadow mode's record on mails (why, what would have been answered); mailbox health.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # mails decided before this revision have no reasons and were never shadow decisions
    op.add_column("mails", sa.Column("reasons", sa.JSON))
    op.add_column("mails", sa.Column("would_reply", sa.String(128)))
    op.add_column("mails", sa.Column("would_category", sa.String(64)))
    op.create_index("ix_mails_would_reply", "mails", ["would_reply"])

    op.create_table(
        "mailbox_health",
        sa.Column("component", sa.String(255), primary_key=True),
        sa.Column("ok_at", sa.DateTime(timezone=True)),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    raise NotImplementedError("mailroom migrates forward only; restore a backup to go back")
