"""Initial tables: meta, notes, schedule exceptions, boundary and address versions, the live
pointer, staff and the audit log.

Revision ID: 0001
Revises:
Create Date: 2020-02-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created", TS, nullable=False),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("cycles", sa.Text, nullable=False),
        sa.Column("posted", sa.Date, nullable=False),
        sa.Column("updated", sa.Date, nullable=False),
        sa.Column("starts", sa.Date, nullable=True),
        sa.Column("ends", sa.Date, nullable=True),
        sa.Column("expired_at", TS, nullable=True),
        sa.Column("created", TS, nullable=False),
    )
    op.create_table(
        "schedule_exceptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("until", sa.Date, nullable=True),
        sa.Column("new_date", sa.Date, nullable=True),
        sa.Column("cycles", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created", TS, nullable=False),
    )
    op.create_table(
        "boundary_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("geojson", sa.Text, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("effective", sa.Date, nullable=True),
    )
    op.create_table(
        "address_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("effective", sa.Date, nullable=True),
    )
    live = op.create_table(
        "live",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "boundary_version",
            sa.Integer,
            sa.ForeignKey("boundary_versions.version", name="fk_live_boundary_version"),
            nullable=True,
        ),
        sa.Column(
            "address_version",
            sa.Integer,
            sa.ForeignKey("address_versions.version", name="fk_live_address_version"),
            nullable=True,
        ),
        sa.Column("changed", TS, nullable=True),
        sa.CheckConstraint("id = 1", name="ck_live_single_row"),
    )
    op.bulk_insert(live, [{"id": 1, "boundary_version": None, "address_version": None}])
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created", TS, nullable=False),
        sa.UniqueConstraint("username", name="uq_staff_username"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "staff",
        "live",
        "address_versions",
        "boundary_versions",
        "schedule_exceptions",
        "notes",
        "meta",
    ):
        op.drop_table(table)
