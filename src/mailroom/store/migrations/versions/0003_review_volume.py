"""Review at volume (issue 18): ownership time on mails, the audit log, bulk jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # mails taken before this revision have no time: they count as not taken
    op.add_column("mails", sa.Column("assigned_at", sa.DateTime(timezone=True)))
    op.create_index("ix_mails_status_collected", "mails", ["status", "collected_at"])
    op.create_index("ix_mails_status_assignee", "mails", ["status", "assignee"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("mail_id", sa.String(64)),
        sa.Column("target", sa.String(64)),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
    )
    op.create_index("ix_audit_log_mail", "audit_log", ["mail_id", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("mail_ids", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    raise NotImplementedError("mailroom migrates forward only; restore a backup to go back")
