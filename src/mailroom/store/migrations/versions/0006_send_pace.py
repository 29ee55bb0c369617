"""The relay's pace shared by every responder (issue 21): the send_pace table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_pace",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("day", sa.Float, nullable=False),
        sa.Column("day_count", sa.Integer, nullable=False),
        sa.Column("factor", sa.Float, nullable=False),
        sa.Column("slowed_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("mailroom migrates forward only; restore a backup to go back")
