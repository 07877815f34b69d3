"""Uploads waiting for a publish: a staff upload is checked and previewed, then published from
any server, so the file is kept in the database between the two requests, not on one disk.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staged_uploads",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staged_uploads_created", "staged_uploads", ["created"])


def downgrade() -> None:
    op.drop_index("ix_staged_uploads_created", table_name="staged_uploads")
    op.drop_table("staged_uploads")
