"""Record a remediation run (remediation.json, written by `auditor remediate apply`): its
record kept whole as a blob, with a summary row to list it by; and its re-audit, as a partial
audit whose scope is the subjects of the re-collected instances (so it resolves nothing it did
not look at)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

from sqlalchemy import insert, select

from auditor.engine.rules import RulePack
from auditor.engine.selection import AuditScope
from auditor.engine.waivers import Waiver
from auditor.findings import Finding
from auditor.history.blobs import put_blob
from auditor.history.record import AuditRecord, iso, record_audit, rulepack_sha256
from auditor.history.schema import estates, remediations
from auditor.history.store import HistoryStore
from auditor.results import Results, build_results, results_bytes

REAUDIT = "reaudit_of"  # the key of a re-audit's report field: the remediation run it checked


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


def _recollected(finding: Finding, instances: set[str]) -> bool:
    subject = finding.subject
    return any(name is not None and name.lower() in instances
               for name in (subject.instance, subject.host))


def reaudit_results(after: Results, pack: RulePack, waivers: Sequence[Waiver],
                    instances: Sequence[str]) -> Results | None:
    """The re-audit's results as a partial audit: only the findings about the re-collected
    instances (and servers), scored over them; None when it found none. `after` is the
    verification's evaluation, which also holds the audit's older findings of every other
    instance: those were not looked at again and must not reach the history as if they were."""
    wanted = {name.lower() for name in instances}
    kept = [f for f in after.findings if _recollected(f, wanted)]
    if not kept:
        return None
    scope = AuditScope(complete=False, subjects=sorted({f.subject.id for f in kept}))
    return build_results(findings=kept, pack=pack, waivers=waivers, estate=after.estate,
                         now=after.now, collected_at=after.collected_at,
                         bundle_sha256=after.bundle_sha256,
                         inventory_sha256=after.inventory_sha256, estate_id=after.estate_id,
                         scope=scope)


def record_reaudit(store: HistoryStore, results: Results, pack: RulePack, *, run_id: str,
                   finished_at: dt.datetime, inventory_bytes: bytes,
                   record_bytes: bytes) -> int:
    """Record a remediation's re-audit (reaudit_results) as a partial audit. It has no
    evidence bundle or report of its own: the remediation record stands as its evidence."""
    return record_audit(store, AuditRecord(
        results=results, results_bytes=results_bytes(results), bundle_bytes=record_bytes,
        inventory_bytes=inventory_bytes, rulepack_sha256=rulepack_sha256(pack),
        ran_at=finished_at, report={REAUDIT: run_id}))
