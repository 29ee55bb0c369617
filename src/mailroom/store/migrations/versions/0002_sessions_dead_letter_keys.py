"""Dashboard sessions; a dedup key on dead letters (issue 17).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("password_tag", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_username", "sessions", ["username"])

    # rows written before have no key (NULLs never collide in a unique index)
    op.add_column("dead_letters", sa.Column("dedup_key", sa.String(64)))
    op.create_index("uq_dead_letters_dedup", "dead_letters", ["dedup_key"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("mailroom migrates forward only; restore a backup to go back")
