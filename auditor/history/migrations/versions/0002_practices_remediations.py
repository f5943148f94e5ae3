"""Per-practice scores on each audit (filled in from the stored results of older audits) and
remediation runs.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
import zlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_audits = sa.table("audits", sa.column("seq", sa.Integer),
                   sa.column("results_sha256", sa.String), sa.column("practices", sa.Text))
_blobs = sa.table("blobs", sa.column("sha256", sa.String), sa.column("compression", sa.String),
                  sa.column("data", sa.LargeBinary))


def practices_of(results: dict[str, object]) -> str:
    """The per-practice score, coverage and status of a results document, as canonical JSON."""
    out = {}
    for practice in results.get("by_practice", []):  # type: ignore[attr-defined]
        score = practice["score"]
        out[practice["id"]] = {"title": practice["title"], "status": practice["status"],
                               "score": score["score"], "coverage": score["coverage"]}
    return json.dumps(out, sort_keys=True, separators=(",", ":"))


def upgrade() -> None:
    """Add audits.practices (backfilled) and the remediations table."""
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("practices", sa.Text, nullable=False, server_default="{}"))
    bind = op.get_bind()
    rows = bind.execute(sa.select(_audits.c.seq, _blobs.c.compression, _blobs.c.data)
                        .join(_blobs, _blobs.c.sha256 == _audits.c.results_sha256)).all()
    for seq, compression, data in rows:
        raw = zlib.decompress(data) if compression == "zlib" else bytes(data)
        bind.execute(_audits.update().where(_audits.c.seq == seq)
                     .values(practices=practices_of(json.loads(raw))))
    op.create_table(
        "remediations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False, unique=True),
        sa.Column("estate_key", sa.String(300), sa.ForeignKey("estates.key"), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False))
