"""The tables at the newest schema revision (the migrations in migrations/versions build them).

Times are ISO 8601 UTC text with microseconds, so both backends sort and compare them the same
way; JSON columns are canonical JSON text.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

TIME = String(40)
SHA = String(64)

estates = Table(
    "estates", metadata,
    Column("key", String(300), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("last_seq", Integer, nullable=True),
)

audits = Table(
    "audits", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, unique=True),
    Column("estate_key", String(300), ForeignKey("estates.key"), nullable=False),
    Column("estate", String(300), nullable=False),
    Column("ran_at", TIME, nullable=False),
    Column("collected_at", TIME, nullable=False),
    Column("now", TIME, nullable=False),
    Column("recorded_at", TIME, nullable=False),
    Column("generated_at", TIME, nullable=True),
    Column("tool_version", String(100), nullable=False),
    Column("rulepack_version", String(100), nullable=False),
    Column("rulepack_sha256", SHA, nullable=False),
    Column("inventory_sha256", SHA, nullable=False),
    Column("bundle_sha256", SHA, nullable=False),
    Column("results_sha256", SHA, nullable=False),
    Column("score", Float, nullable=True),
    Column("score_without_waivers", Float, nullable=True),
    Column("coverage", Float, nullable=True),
    Column("applicable", Integer, nullable=False),
    Column("assessed", Integer, nullable=False),
    Column("findings", Integer, nullable=False),
    Column("counts", Text, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("scope", Text, nullable=False),
    Column("report", Text, nullable=False),
    Column("practices", Text, nullable=False),  # revision 0002
    Column("pruned_at", TIME, nullable=True),  # revision 0003: bundle and report files pruned
    Column("deliveries", Text, nullable=True),  # revision 0003: metrics and mail outcomes
)
Index("ix_audits_estate_seq", audits.c.estate_key, audits.c.seq)

findings = Table(
    "findings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(1000), nullable=False, unique=True),
    Column("estate_key", String(300), ForeignKey("estates.key"), nullable=False),
    Column("rule_id", String(50), nullable=False),
    Column("subject_id", String(600), nullable=False),
    Column("subject_type", String(30), nullable=False),
    Column("practice", String(20), nullable=False),
)

intervals = Table(
    "intervals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("finding_id", Integer, ForeignKey("findings.id"), nullable=False),
    Column("estate_key", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Column("first_seq", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("ended_seq", Integer, nullable=True),
    Column("end_reason", String(20), nullable=True),
    Column("open_since_seq", Integer, nullable=True),
)
Index("ix_intervals_open", intervals.c.estate_key, intervals.c.ended_seq)
Index("ix_intervals_first", intervals.c.estate_key, intervals.c.first_seq)
Index("ix_intervals_finding", intervals.c.finding_id)

blobs = Table(
    "blobs", metadata,
    Column("sha256", SHA, primary_key=True),
    Column("size", Integer, nullable=False),
    Column("compression", String(10), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

remediations = Table(  # revision 0002
    "remediations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("estate_key", String(300), ForeignKey("estates.key"), nullable=False),
    Column("started_at", TIME, nullable=False),
    Column("finished_at", TIME, nullable=False),
    Column("recorded_at", TIME, nullable=False),
    Column("record_sha256", SHA, nullable=False),
    Column("summary", Text, nullable=False),
)
