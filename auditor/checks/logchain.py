"""P1 log chain check (BR-005): each log backup since the newest full continues the chain."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from auditor.checks.backups import db_backups, known_history, simple_gate, taken_here, when
from auditor.checks.subjects import (
    LyncDatabase,
    backup_gate,
    history_gate,
    lync_databases,
)
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, InstanceFacts
from auditor.facts.sql import Backup
from auditor.findings import Status, Verdict

# --- BR-005: log chain ------------------------------------------------------------------------

class LogChainUnbroken(Params):
    """BR-005 has no threshold: the chain is unbroken or it is not."""


@check_kind("log_chain_unbroken", LogChainUnbroken)
def log_chain_unbroken(facts: Facts, params: ParamsFor[LogChainUnbroken]) -> Iterator[Verdict]:
    """Each FULL/BULK_LOGGED required store has an unbroken log chain since its newest full."""
    for db in lync_databases(facts):
        yield _chain_verdict(db)


def _lsn_error(db: LyncDatabase, backups: list[Backup], ids: tuple[str, ...]) -> Verdict | None:
    bad = [b for b in backups if b.first_lsn is None or b.last_lsn is None]
    if not bad:
        return None
    return db.verdict(Status.ERROR, f"backup set {bad[0].backup_set_id} ({bad[0].type}, finished "
                      f"{when(bad[0].finished_at)}) has no first_lsn/last_lsn: the chain cannot "
                      "be followed", evidence_ids=ids)


def _chain_verdict(db: LyncDatabase) -> Verdict:
    gate = backup_gate(db) or simple_gate(db) or history_gate(db)
    if gate is not None:
        return gate
    expected = "each log backup since the newest full starts where the previous one ended"
    known = known_history(db, expected)
    if isinstance(known, Verdict):
        return known
    history, last = known
    ids = history.evidence_ids + last.evidence_ids
    rows = db_backups(history.value, db.name)  # none from the future: history_gate saw to it
    here = [b for b in rows if taken_here(b, db.facts)]
    logs = [b for b in here if b.type == "L" and not b.is_copy_only]
    if not logs:
        return db.verdict(Status.NOT_APPLICABLE, "no log backup in the backup history: nothing "
                          "to chain (BR-003 reports missing log backups)", evidence_ids=ids)
    fulls = [b for b in here if b.type == "D" and not b.is_copy_only]
    if not fulls:
        return _no_local_full(db, rows, last.value.get((db.name.lower(), "D")), ids)
    anchor = max(fulls, key=lambda b: (b.finished_at, b.backup_set_id))
    after = [b for b in logs if b.finished_at >= anchor.started_at]
    problem = _lsn_error(db, [anchor, *after], ids)
    if problem is not None:
        return problem
    full_lsn = anchor.last_lsn or Decimal(0)  # not None: checked by _lsn_error
    chain = _chain_after(after, full_lsn)
    if not chain:
        return db.verdict(Status.NOT_APPLICABLE, f"no log backup since the newest full "
                          f"(finished {when(anchor.finished_at)}): nothing to chain (BR-003 "
                          "reports missing log backups)", evidence_ids=ids)
    newest = max(chain, key=lambda b: b.finished_at)
    breaks = _breaks(anchor, full_lsn, chain, rows, db.facts)
    observed = {"full_finished": anchor.finished_at.isoformat(),
                "full_last_lsn": str(anchor.last_lsn), "log_backups": len(chain),
                "newest_log_finished": newest.finished_at.isoformat()}
    if breaks:
        more = f" (and {len(breaks) - 1} more break(s))" if len(breaks) > 1 else ""
        observed["breaks"] = breaks
        return db.verdict(Status.FAIL, f"log chain broken: {breaks[0]}{more}", observed,
                          expected, ids)
    return db.verdict(Status.PASS, f"log chain unbroken: {len(chain)} log backup(s) from the full "
                      f"finished {when(anchor.finished_at)} to the log backup finished "
                      f"{when(newest.finished_at)}", observed, expected, ids)


def _no_local_full(db: LyncDatabase, rows: list[Backup], ever: Any,
                   ids: tuple[str, ...]) -> Verdict:
    """Log backups but no full of this instance in the history read."""
    foreign = [b for b in rows if b.type == "D" and not b.is_copy_only]
    if foreign:
        other = max(foreign, key=lambda b: b.finished_at)
        return db.verdict(Status.FAIL, f"log chain broken: the only full backup in the history "
                          f"was taken on {other.server_name or other.machine_name} (finished "
                          f"{when(other.finished_at)}), not on this instance; take a full "
                          "backup here to start a new chain", evidence_ids=ids)
    if ever is not None:
        reason = (f"the newest full backup (finished {when(ever.finished_at)}) is older than "
                  "the backup history collected")
    else:
        reason = "msdb holds log backups but no full backup (its history was purged?)"
    return db.verdict(Status.ERROR, f"not enough history to follow the log chain: {reason}",
                      evidence_ids=ids)


def _chain_after(logs: list[Backup], full_last_lsn: Decimal) -> list[Backup]:
    """Log backups holding records after the full, one per LSN range, in LSN order."""
    unique: dict[tuple[Decimal, Decimal], Backup] = {}
    for log in logs:
        if log.first_lsn is None or log.last_lsn is None or log.last_lsn <= full_last_lsn:
            continue
        unique.setdefault((log.first_lsn, log.last_lsn), log)
    return [unique[key] for key in sorted(unique)]


def _breaks(anchor: Backup, full_lsn: Decimal, chain: list[Backup], rows: list[Backup],
            inst: InstanceFacts) -> list[str]:
    """Every reason the chain from the full to the newest log is broken, oldest first."""
    found: list[str] = []
    first = chain[0]
    if first.first_lsn is not None and first.first_lsn > full_lsn:
        found.append(f"the first log backup after the full (finished {when(first.finished_at)}) "
                     f"starts at LSN {first.first_lsn}, after the full's last LSN {full_lsn}")
    for prev, cur in itertools.pairwise(chain):
        if cur.first_lsn != prev.last_lsn:
            found.append(f"the log backup finished {when(cur.finished_at)} starts at LSN "
                         f"{cur.first_lsn} but the previous one ended at LSN {prev.last_lsn}")
    newest = max(chain, key=lambda b: b.finished_at).finished_at
    between = [b for b in rows if anchor.finished_at < b.finished_at <= newest]
    for backup in [anchor, *between]:
        if (backup.recovery_model or "").upper() == "SIMPLE" and taken_here(backup, inst):
            found.append(f"backup set {backup.backup_set_id} (finished "
                         f"{when(backup.finished_at)}) records SIMPLE recovery: the switch to "
                         "SIMPLE truncated the log")
            break
    for backup in between:
        if backup.type == "D" and not backup.is_copy_only and not taken_here(backup, inst):
            found.append(f"a full backup taken on {backup.server_name or backup.machine_name} "
                         f"(finished {when(backup.finished_at)}) lies between the full and the "
                         "newest log backup")
    return found


KINDS: tuple[CheckKind[Any], ...] = (log_chain_unbroken,)
