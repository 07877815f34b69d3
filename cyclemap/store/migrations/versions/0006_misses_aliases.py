"""Lookups that missed, counted by normalized query; the aliases staff attach to them.

``lookup_misses`` counts lookups that ended ``not_found`` or ``ambiguous`` by their normalized
street (``kind`` street: no house number, so no resident's address is kept), or, only when the
resident confirmed one of the offered places, by the normalized typed address and the place
chosen (``kind`` address). ``aliases`` holds street aliases (another name of a layer street)
and single-address corrections; an edit is a new row (``version``) of the same ``alias_id``,
the old row retired, and every change is in the audit log.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
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
        "lookup_misses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("chosen", sa.String(200), nullable=False, server_default=""),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("not_found", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("ambiguous", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.UniqueConstraint("kind", "key", "chosen", name="uq_lookup_misses_key"),
        sa.CheckConstraint("kind IN ('street', 'address')", name="ck_lookup_misses_kind"),
    )
    op.create_index("ix_lookup_misses_status_count", "lookup_misses", ["status", "count"])
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alias_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_by", sa.String(100), nullable=True),
        sa.UniqueConstraint("alias_id", "version", name="uq_aliases_version"),
        sa.CheckConstraint("kind IN ('street', 'address')", name="ck_aliases_kind"),
    )
    op.create_index("ix_aliases_retired", "aliases", ["retired"])


def downgrade() -> None:
    op.drop_index("ix_aliases_retired", table_name="aliases")
    op.drop_table("aliases")
    op.drop_index("ix_lookup_misses_status_count", table_name="lookup_misses")
    op.drop_table("lookup_misses")
