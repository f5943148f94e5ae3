"""The first schema: estates, audits, findings as status intervals, content-addressed blobs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.String(40)
SHA = sa.String(64)


def upgrade() -> None:
    """Create the revision 1 tables."""
    op.create_table(
        "estates",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=True))
    op.create_table(
        "audits",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False, unique=True),
        sa.Column("estate_key", sa.String(300), sa.ForeignKey("estates.key"), nullable=False),
        sa.Column("estate", sa.String(300), nullable=False),
        *(sa.Column(name, TIME, nullable=False)
          for name in ("ran_at", "collected_at", "now", "recorded_at")),
        sa.Column("generated_at", TIME, nullable=True),
        sa.Column("tool_version", sa.String(100), nullable=False),
        sa.Column("rulepack_version", sa.String(100), nullable=False),
        *(sa.Column(name, SHA, nullable=False) for name in (
            "rulepack_sha256", "inventory_sha256", "bundle_sha256", "results_sha256")),
        *(sa.Column(name, sa.Float, nullable=True)
          for name in ("score", "score_without_waivers", "coverage")),
        *(sa.Column(name, sa.Integer, nullable=False)
          for name in ("applicable", "assessed", "findings")),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("report", sa.Text, nullable=False))
    op.create_index("ix_audits_estate_seq", "audits", ["estate_key", "seq"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(1000), nullable=False, unique=True),
        sa.Column("estate_key", sa.String(300), sa.ForeignKey("estates.key"), nullable=False),
        sa.Column("rule_id", sa.String(50), nullable=False),
        sa.Column("subject_id", sa.String(600), nullable=False),
        sa.Column("subject_type", sa.String(30), nullable=False),
        sa.Column("practice", sa.String(20), nullable=False))
    op.create_table(
        "intervals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("finding_id", sa.Integer, sa.ForeignKey("findings.id"), nullable=False),
        sa.Column("estate_key", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("first_seq", sa.Integer, nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("ended_seq", sa.Integer, nullable=True),
        sa.Column("end_reason", sa.String(20), nullable=True),
        sa.Column("open_since_seq", sa.Integer, nullable=True))
    op.create_index("ix_intervals_open", "intervals", ["estate_key", "ended_seq"])
    op.create_index("ix_intervals_first", "intervals", ["estate_key", "first_seq"])
    op.create_index("ix_intervals_finding", "intervals", ["finding_id"])
    op.create_table(
        "blobs",
        sa.Column("sha256", SHA, primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("compression", sa.String(10), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False))
