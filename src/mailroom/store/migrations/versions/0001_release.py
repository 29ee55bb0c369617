"""The schema of the first release (before migrations), exactly as it shipped.

A store written by that release has every one of these tables, ``meta.schema_version``
= 1 and no ``alembic_version`` table; ``migrations.prepare`` recognises it as this
revision and upgrades it from here.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mails",
        sa.Column("mail_id", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("folder", sa.String(255), nullable=False),
        sa.Column("uid", sa.BigInteger, nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("from_addr", sa.String(512), nullable=False),
        sa.Column("language", sa.String(16)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("rule", sa.String(128)),
        sa.Column("confidence", sa.Float),
        sa.Column("route", sa.String(64)),
        sa.Column("template", sa.String(128)),
        sa.Column("reply_request", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("event", sa.JSON, nullable=False),
        sa.Column("collected_at", TZ, nullable=False),
        sa.Column("decided_at", TZ),
        sa.Column("finished_at", TZ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("assignee", sa.String(128)),
    )
    op.create_index("ix_mails_status_updated", "mails", ["status", "updated_at"])
    op.create_index("ix_mails_category", "mails", ["category"])
    op.create_index("ix_mails_collected", "mails", ["collected_at"])

    op.create_table(
        "checkpoints",
        sa.Column("account", sa.String(255), primary_key=True),
        sa.Column("folder", sa.String(255), primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )

    op.create_table(
        "replies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mail_id", sa.String(64), sa.ForeignKey("mails.mail_id"), nullable=False),
        sa.Column("template", sa.String(128), nullable=False),
        sa.Column("recipient", sa.String(512), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(128)),
        sa.Column("lease_until", TZ),
        sa.Column("next_attempt_at", TZ),
        sa.Column("last_error", sa.Text),
        sa.Column("body", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ),
        sa.UniqueConstraint("mail_id", "template", name="uq_reply_mail_template"),
    )
    op.create_index("ix_replies_recipient", "replies", ["recipient", "template", "sent_at"])
    op.create_index("ix_replies_status_next", "replies", ["status", "next_attempt_at"])
    op.create_index("ix_replies_sent", "replies", ["sent_at"])

    op.create_table(
        "autoreply_log",
        sa.Column("recipient", sa.String(512), primary_key=True),
        sa.Column("template", sa.String(128), primary_key=True),
        sa.Column("mail_id", sa.String(64), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_topic", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255)),
        sa.Column("mail_id", sa.String(64)),
        sa.Column("account", sa.String(255)),
        sa.Column("folder", sa.String(255)),
        sa.Column("uid", sa.BigInteger),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("error_type", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failed_at", TZ, nullable=False),
    )
    op.create_index("ix_dead_letters_status", "dead_letters", ["status"])

    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mail_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(128), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mail_id", sa.String(64), sa.ForeignKey("mails.mail_id"), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )

    op.create_table(
        "leases",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )

    op.create_table(
        "users",
        sa.Column("username", sa.String(128), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )

    op.create_table(
        "stage_progress",
        sa.Column("stage", sa.String(32), primary_key=True),
        sa.Column("at", TZ, nullable=False),
    )

    meta = op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])


def downgrade() -> None:
    raise NotImplementedError("mailroom migrates forward only; restore a backup to go back")
