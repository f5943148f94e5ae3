"""What `auditor audit` does with the history: open the store before collecting (so a store
that cannot be opened stops the audit before any work), give the report its snapshot, record
the audit once its report is written. `--no-history` skips all three."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from auditor.canonical import pretty_bytes
from auditor.cli.common import err
from auditor.connect.credentials import SecretUnavailableError, resolve
from auditor.engine.rules import RulePack
from auditor.errors import AuditorError
from auditor.history.blobs import get_blob
from auditor.history.location import locate
from auditor.history.model import HistorySnapshot
from auditor.history.queries import list_audits
from auditor.history.record import (
    AuditRecord,
    record_audit,
    record_deliveries,
    rulepack_sha256,
)
from auditor.history.remediation import reaudit_results, record_reaudit, record_remediation
from auditor.history.snapshot import build_snapshot
from auditor.history.states import estate_key
from auditor.history.store import HistoryError, HistoryStore, open_store
from auditor.inventory import LoadedInventory
from auditor.pipeline import Toolkit
from auditor.remediate.record import RunRecord
from auditor.results import Results, results_bytes

HistoryOpt = Annotated[str | None, typer.Option(
    "--history", metavar="URL", help="History store: a SQLite file or a postgresql:// URL "
    "without a password (default: $AUDITOR_HISTORY, the inventory's history.url, else a file "
    "in the user's data folder).")]
NoHistoryOpt = Annotated[bool, typer.Option(
    "--no-history", help="Do not record this audit into the history (and give the report no "
    "trend or since-the-last-audit section).")]


def open_history(flag: str | None, loaded: LoadedInventory | None = None) -> HistoryStore:
    """The store the flag, the environment or the inventory name; its password, when it
    needs one, from the inventory's credential reference (else libpq's own: ~/.pgpass)."""
    settings = loaded.inventory.history if loaded else None
    if settings is not None and loaded is not None and "://" not in settings.url:
        settings = settings.model_copy(update={"url": str(loaded.relative(settings.url))})
    location = locate(flag, settings)
    password = None
    if location.credential is not None:
        try:
            password = resolve(location.credential, "history").password
        except SecretUnavailableError as exc:
            raise HistoryError(f"history store: {exc}") from None
    return open_store(location.url, password)


@dataclass
class AuditHistory:
    """An audit's use of the history, between opening the store and recording into it."""

    store: HistoryStore
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    snapshot: HistorySnapshot | None = None

    def previous_full(self, results: Results) -> Results | None:
        """The last full audit of this estate recorded before this one (gates, mail)."""
        key = estate_key(results.estate_id, results.estate)
        with self.store.reading() as conn:
            rows = list_audits(conn, key, limit=1, full_only=True, full=False)
            data = get_blob(conn, rows[0].results_sha256) if rows else None
        return Results.model_validate_json(data) if data is not None else None

    def take_snapshot(self, results: Results) -> HistorySnapshot:
        """What the report is given (read before this audit is recorded)."""
        with self.store.reading() as conn:
            self.snapshot = build_snapshot(conn, results, self.run_id)
        return self.snapshot

    def record(self, results: Results, pack: RulePack, loaded: LoadedInventory, bundle: bytes,
               ran_at: dt.datetime, generated_at: dt.datetime, report: dict[str, object],
               responses: bytes | None) -> None:
        """Record the audit with what its report was rendered from."""
        inventory = loaded.path.read_bytes()
        if hashlib.sha256(inventory).hexdigest() != loaded.sha256:
            raise HistoryError(f"{loaded.path} changed during the audit; not recorded")
        extra = {"snapshot": pretty_bytes(self.snapshot.model_dump(mode="json"))
                 if self.snapshot else b"null\n"}
        if responses is not None:
            extra["responses.yaml"] = responses
        record_audit(self.store, AuditRecord(
            results=results, results_bytes=results_bytes(results), bundle_bytes=bundle,
            inventory_bytes=inventory, rulepack_sha256=rulepack_sha256(pack),
            ran_at=ran_at, generated_at=generated_at, report=report, extra_blobs=extra,
            run_id=self.run_id))


    def remember_deliveries(self, deliveries: list[dict[str, object]]) -> None:
        """Add the deliveries' outcomes to the recorded audit; a store that cannot take them
        is a warning (the audit is recorded and its exit code stands)."""
        try:
            record_deliveries(self.store, self.run_id, deliveries)
        except (AuditorError, SQLAlchemyError) as exc:
            reason = exc if isinstance(exc, AuditorError) else type(exc).__name__
            err.print(f"warning: delivery outcomes not recorded in the history: {reason}",
                      markup=False)


def remember_remediation(loaded: LoadedInventory, record: RunRecord, data: bytes,
                         flag: str | None = None,
                         reaudit: tuple[Toolkit, Results | None] | None = None) -> None:
    """Record a remediation run into the history, and its re-audit (the verification's
    results, when there are any) as a partial audit of the re-collected instances; a store
    that cannot take them is a warning (the run is done and remediation.json written), never
    a failed run."""
    summary = {"actions": len(record.actions),
               "succeeded": sum(a.outcome == "succeeded" for a in record.actions),
               "plan_sha256": record.plan_sha256, "approved_by": record.approved_by}
    if record.verification is not None:
        summary |= {"score_before": record.verification.score_before,
                    "score_after": record.verification.score_after,
                    "fixed": sum(c.verdict == "fixed" for c in record.verification.findings)}
    estate = loaded.inventory.estate
    try:
        store = open_history(flag, loaded)
        record_remediation(store, run_id=record.run_id,
                           estate_key=estate_key(estate.id, estate.name), estate=estate.name,
                           started_at=record.started_at, finished_at=record.finished_at,
                           summary=summary, record_bytes=data)
        toolkit, after = reaudit or (None, None)
        if toolkit is None or after is None or record.verification is None:
            return
        scoped = reaudit_results(after, toolkit.pack, toolkit.load_waivers(loaded, None),
                                 record.verification.instances)
        if scoped is not None:
            record_reaudit(store, scoped, toolkit.pack, run_id=record.run_id,
                           finished_at=record.finished_at,
                           inventory_bytes=loaded.path.read_bytes(), record_bytes=data)
    except (AuditorError, SQLAlchemyError) as exc:
        reason = exc if isinstance(exc, AuditorError) else type(exc).__name__
        err.print(f"warning: remediation run not recorded in the history: {reason}",
                  markup=False)
