"""Notes get a display order; the audit log gets indexes for "history of X" and "since when".

Revision ID: 0002
Revises: 0001
Create Date: 2020-02-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notes") as batch:
        batch.add_column(
            sa.Column("display_order", sa.Integer, nullable=False, server_default=sa.text("0"))
        )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    with op.batch_alter_table("notes") as batch:
        batch.drop_column("display_order")
