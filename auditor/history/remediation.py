"""Record a remediation run (remediation.json, written by `auditor remediate apply`): its
record kept whole as a blob, with a summary row to list it by."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from sqlalchemy import insert, select

from auditor.history.blobs import put_blob
from auditor.history.record import iso
from auditor.history.schema import estates, remediations
from auditor.history.store import HistoryStore


def record_remediation(store: HistoryStore, *, run_id: str, estate_key: str, estate: str,
                       started_at: dt.datetime, finished_at: dt.datetime,
                       summary: Mapping[str, object], record_bytes: bytes) -> None:
    """Store one remediation run (once: a run id already stored is left as it is)."""
    with store.writing() as conn:
        if conn.execute(select(remediations.c.id)
                        .where(remediations.c.run_id == run_id)).first() is not None:
            return
        if conn.execute(select(estates.c.key).where(estates.c.key == estate_key)).first() is None:
            conn.execute(insert(estates).values(key=estate_key, name=estate, last_seq=None))
        conn.execute(insert(remediations).values(
            run_id=run_id, estate_key=estate_key, started_at=iso(started_at),
            finished_at=iso(finished_at), recorded_at=iso(dt.datetime.now(dt.UTC)),
            record_sha256=put_blob(conn, record_bytes),
            summary=json.dumps(dict(summary), sort_keys=True)))


def remediation_runs(store: HistoryStore, estate_key: str) -> list[dict[str, object]]:
    """The estate's stored remediation runs, newest first."""
    with store.reading() as conn:
        rows = conn.execute(select(remediations).where(remediations.c.estate_key == estate_key)
                            .order_by(remediations.c.id.desc()))
        return [{**r._mapping, "summary": json.loads(r.summary)} for r in rows]
