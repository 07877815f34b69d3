"""Staff accounts get a role; boundary and address versions get a timeline of activations.

A version no longer goes live by moving one pointer only: every publish and every rollback
adds a row to ``version_activations`` saying which version is in force from which day (city
time). The version in force on a day is the activation with the latest ``(effective, id)`` whose
``effective`` is on or before that day, so a version scheduled for a future date goes live on
that date on every server without anyone acting. Existing versions are backfilled as in force
"since always", in the order they were published, followed by the live pointer when a rollback
had moved it, so that what was live before this migration is live after it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(
            sa.Column("role", sa.String(16), nullable=False, server_default="editor")
        )
    op.create_table(
        "version_activations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective", sa.Date, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.CheckConstraint("kind IN ('boundary', 'address')", name="ck_activation_kind"),
    )
    op.create_index(
        "ix_version_activations_kind_effective", "version_activations", ["kind", "effective", "id"]
    )
    # backfill in SQL (INSERT ... SELECT) so that timestamps keep each backend's own format
    for kind, table, pointer in (
        ("boundary", "boundary_versions", "boundary_version"),
        ("address", "address_versions", "address_version"),
    ):
        op.execute(
            f"INSERT INTO version_activations "
            f"(kind, version, effective, action, author, created, message) "
            f"SELECT '{kind}', version, '0001-01-01', 'publish', author, created, message "
            f"FROM {table} ORDER BY version"
        )
        # a rollback had moved the live pointer off the newest version: keep it live
        op.execute(
            f"INSERT INTO version_activations "
            f"(kind, version, effective, action, author, created, message) "
            f"SELECT '{kind}', live.{pointer}, '0001-01-01', 'rollback', 'migration 0003', "
            f"COALESCE(live.changed, v.created), 'rollback (before the timeline)' "
            f"FROM live JOIN {table} v ON v.version = live.{pointer} "
            f"WHERE live.{pointer} IS NOT NULL "
            f"AND live.{pointer} <> (SELECT MAX(version) FROM {table})"
        )


def downgrade() -> None:
    op.drop_index("ix_version_activations_kind_effective", table_name="version_activations")
    op.drop_table("version_activations")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("role")
