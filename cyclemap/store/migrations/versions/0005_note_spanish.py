"""Notes in Spanish: a note may carry a Spanish title and body beside its English ones
(both or neither; Spanish pages show the English note, marked, when it has none).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite alters a table by copying it; PostgreSQL adds the columns in place
    with op.batch_alter_table("notes") as batch:
        batch.add_column(sa.Column("title_es", sa.String(200), nullable=True))
        batch.add_column(sa.Column("body_es", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notes") as batch:
        batch.drop_column("body_es")
        batch.drop_column("title_es")
