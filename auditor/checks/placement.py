"""P9 and P15 placement: mirrors in sync with backups on the principal; .ldf apart from .mdf."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from auditor.checks.subjects import MIRROR_ROLE, DbClass, LyncDatabase, future_gate, lync_databases
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, Known, Unknown
from auditor.facts.sql import Backup, DatabaseFile, Mirroring
from auditor.findings import Status, Verdict

SYNCHRONIZED = 4
PRINCIPAL_ROLE = 1
DATA_FILE, LOG_FILE = 0, 1


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


# --- DR-003 ---------------------------------------------------------------------------------

class MirrorParams(Params):
    """DR-003: the principal's newest full backup is at most max_full_age_hours old."""

    max_full_age_hours: float = Field(default=26, gt=0, le=24 * 30)


@check_kind("mirror_synchronized_backups_follow_principal", MirrorParams)
def mirror_synchronized_backups_follow_principal(
        facts: Facts, params: ParamsFor[MirrorParams]) -> Iterator[Verdict]:
    """Each mirrored Lync store is SYNCHRONIZED, and fulls are taken on the current principal."""
    for db in lync_databases(facts):
        yield _mirror_verdict(facts, db, params(db.scope))


def _mirror_verdict(facts: Facts, db: LyncDatabase, p: MirrorParams) -> Verdict:
    if db.kind is DbClass.UNKNOWN:
        return db.verdict(Status.ERROR, db.reason)
    if db.kind in (DbClass.LOCAL, DbClass.NOT_LYNC, DbClass.SYSTEM) or (
            db.kind is DbClass.TRANSIENT and not db.listed):
        return db.verdict(Status.NOT_APPLICABLE, db.reason)
    if db.state is None:  # missing from sys.databases (or a transient store not created)
        return db.verdict(Status.NOT_APPLICABLE, f"{db.reason}; nothing to mirror")
    future = future_gate(db)
    if future is not None:
        return future
    mirroring = db.facts.mirroring
    if isinstance(mirroring, Unknown):
        return db.verdict(Status.ERROR, f"mirroring state unavailable: {mirroring.reason}",
                          evidence_ids=mirroring.evidence_ids)
    mirror = mirroring.value.get(db.state.database_id)
    if mirror is None:
        return db.verdict(Status.NOT_APPLICABLE, "not mirrored",
                          evidence_ids=mirroring.evidence_ids)
    expected = "mirroring SYNCHRONIZED, and recent full backups on the current principal"
    observed: dict[str, Any] = {"role": mirror.role, "state": mirror.state_desc or mirror.state,
                                "partner": mirror.partner_instance}
    side = "mirror copy" if mirror.role == MIRROR_ROLE else "principal"
    if mirror.state != SYNCHRONIZED:
        return db.verdict(Status.FAIL, f"{side}: mirroring is {_state(mirror)}, not SYNCHRONIZED "
                          f"(partner {mirror.partner_instance or 'unknown'})", observed, expected)
    if mirror.role != PRINCIPAL_ROLE or db.kind is DbClass.TRANSIENT:
        why = "BACKUP runs on the principal" if mirror.role == MIRROR_ROLE else "transient store"
        return db.verdict(Status.PASS, f"{side}: SYNCHRONIZED with "
                          f"{mirror.partner_instance or 'its partner'} ({why})", observed, expected)
    return _principal_backups(facts, db, mirror, p, observed, expected)


def _state(mirror: Mirroring) -> str:
    return f"{mirror.state_desc} ({mirror.state})" if mirror.state_desc else f"state {mirror.state}"


def _fulls(history: tuple[Backup, ...], name: str) -> list[Backup]:
    return [b for b in history if b.type == "D" and not b.is_copy_only and not b.is_damaged
            and b.database_name.lower() == name.lower()]


def _principal_backups(facts: Facts, db: LyncDatabase, mirror: Mirroring, p: MirrorParams,
                       observed: dict[str, Any], expected: str) -> Verdict:
    history = db.facts.backups
    if isinstance(history, Unknown):
        return db.verdict(Status.ERROR, f"backup history unavailable: {history.reason}",
                          observed, expected, history.evidence_ids)
    ids = history.evidence_ids
    clock = db.clock
    own = _fulls(history.value, db.name)
    newest = max(own, key=lambda b: b.finished_at) if own else None
    limit = dt.timedelta(hours=p.max_full_age_hours)
    if newest is not None and clock.age(newest.finished_at) <= limit:
        observed["last_full_finished"] = newest.finished_at.isoformat()
        return db.verdict(Status.PASS, f"principal, SYNCHRONIZED; its last full backup finished "
                          f"{_age(clock.age(newest.finished_at))} ago here", observed, expected,
                          ids)
    elsewhere = ""
    partner = next((i for i in facts.instances if mirror.partner_instance and
                    i.instance.server_name.lower() == mirror.partner_instance.lower()), None)
    if partner is not None and isinstance(partner.backups, Known):
        ids += partner.backups.evidence_ids
        theirs = _fulls(partner.backups.value, db.name)
        if theirs:
            last = max(theirs, key=lambda b: b.finished_at)
            if newest is None or last.finished_at > newest.finished_at:
                elsewhere = (f"; the newest full was taken on {partner.instance.server_name} "
                             f"(now the mirror) {_age(clock.age(last.finished_at))} ago, so "
                             "the backup jobs did not follow the failover")
    here = (f"its last full backup here finished {_age(clock.age(newest.finished_at))} ago, "
            f"over the {p.max_full_age_hours:g} h limit" if newest
            else "no full backup was taken here in the collected history")
    return db.verdict(Status.FAIL, f"principal: {here}{elsewhere}", observed, expected, ids)


# --- DR-060 ---------------------------------------------------------------------------------

class SeparatedParams(Params):
    """DR-060 has no thresholds."""


NO_FILES_SEEN = (
    "sys.master_files returned no rows at all, although the instance lists this database: the "
    "audit login lacks the permission to see them (VIEW ANY DEFINITION, ALTER ANY DATABASE or "
    "CREATE ANY DATABASE); fix: USE master; GRANT VIEW ANY DEFINITION TO [login];")


@check_kind("ldf_mdf_separated", SeparatedParams)
def ldf_mdf_separated(facts: Facts, params: ParamsFor[SeparatedParams]) -> Iterator[Verdict]:
    """No log file of a database shares a volume (volume_id) with one of its data files."""
    for db in lync_databases(facts):
        yield _separated_verdict(db)


def _separated_verdict(db: LyncDatabase) -> Verdict:
    if db.kind in (DbClass.LOCAL, DbClass.NOT_LYNC, DbClass.SYSTEM):
        return db.verdict(Status.NOT_APPLICABLE, db.reason)
    if db.state is None:
        if db.kind is DbClass.UNKNOWN:
            return db.verdict(Status.ERROR, db.reason)
        return db.verdict(Status.NOT_APPLICABLE, f"{db.reason}; no files to place")
    files = db.facts.files
    if isinstance(files, Unknown):
        return db.verdict(Status.ERROR, f"database files unavailable: {files.reason}",
                          evidence_ids=files.evidence_ids)
    mine = [f for f in files.value if f.database_id == db.state.database_id]
    data = [f for f in mine if f.type == DATA_FILE]
    logs = [f for f in mine if f.type == LOG_FILE]
    expected = "every log file on a volume (volume_id) that holds none of its data files"
    ids = files.evidence_ids
    if not files.value:  # the instance has databases: sys.master_files hid them
        return db.verdict(Status.ERROR, NO_FILES_SEEN, expected=expected, evidence_ids=ids)
    if not data or not logs:
        return db.verdict(Status.ERROR, f"database_id {db.state.database_id} has {len(data)} data "
                          f"and {len(logs)} log files listed; cannot judge placement",
                          expected=expected, evidence_ids=ids)
    volumes = {_vol(f): f for f in data}
    shared = [(log, volumes[_vol(log)]) for log in logs if _vol(log) in volumes]
    observed = {"data_volumes": sorted({f.volume_mount_point or _vol(f) for f in data}),
                "log_volumes": sorted({f.volume_mount_point or _vol(f) for f in logs})}
    if shared:
        log, mdf = shared[0]
        return db.verdict(Status.FAIL, f"log {log.physical_name} and data {mdf.physical_name} "
                          f"are on the same volume ({log.volume_mount_point or _vol(log)})",
                          observed, expected, ids)
    return db.verdict(Status.PASS, f"log files on {', '.join(observed['log_volumes'])}, data "
                      f"files on {', '.join(observed['data_volumes'])}", observed, expected, ids)


def _vol(f: DatabaseFile) -> str:
    return f.volume_id.strip().lower()


KINDS: tuple[CheckKind[Any], ...] = (mirror_synchronized_backups_follow_principal,
                                     ldf_mdf_separated)
