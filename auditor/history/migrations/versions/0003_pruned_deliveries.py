"""When an audit's evidence bundle and report files were pruned, and the outcome of its
deliveries (metrics file, mail).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add audits.pruned_at and audits.deliveries (both empty on older audits)."""
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("pruned_at", sa.String(40), nullable=True))
        batch.add_column(sa.Column("deliveries", sa.Text, nullable=True))
