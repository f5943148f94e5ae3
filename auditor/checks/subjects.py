"""Which databases, pools, shares and servers are subjects, per rules.md "Subjects"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditor.engine.registry import Scope
from auditor.facts import AuditClock, Facts, InstanceFacts, Known, Unknown
from auditor.facts.clock import Future
from auditor.facts.sql import DatabaseState
from auditor.findings import Status, Subject, SubjectType, Verdict
from auditor.inventory import InstanceRole, Inventory, SqlInstance
from auditor.stores import KNOWN_STORES, LOCAL_STORES, TRANSIENT_STORES

SYSTEM_DATABASES = ("master", "model", "msdb")
# Roles whose databases named like a Lync store are that store even when `stores:` omits them
# (never restore_test, whose restored copies keep their names; mirror and front_end_local
# copies follow their principal's and the Front End's own rules).
FINDS_UNLISTED = frozenset({InstanceRole.BACK_END, InstanceRole.MONITORING,
                            InstanceRole.ARCHIVING, InstanceRole.PERSISTENT_CHAT})
UNLISTED_TRANSIENT = "transient store missing from the inventory's stores: judged by DR-060 only"
RESTORING = 1
OFFLINE = 6
MIRROR_ROLE = 2


class DbClass(StrEnum):
    """How rules.md treats a database for the backup rules."""

    REQUIRED = "required"  # a Lync store that must be backed up
    TRANSIENT = "transient"  # rtcdyn, rtcab, cpsdyn, rgsdyn, mgccomp
    LOCAL = "local"  # every store on a front_end_local instance (RTCLOCAL, LYSS)
    MIRROR = "mirror"  # the mirror copy of a mirrored store
    OFFLINE = "offline"
    MISSING = "missing"  # in the inventory, not in sys.databases
    UNKNOWN = "unknown"  # sys.databases could not be read
    NOT_LYNC = "not_lync"  # another user database on an audited instance
    SYSTEM = "system"  # master, model, msdb


@dataclass(frozen=True)
class LyncDatabase:
    """A database of an audited instance, classified, with its subject and policy scope."""

    subject: Subject
    scope: Scope
    facts: InstanceFacts
    name: str
    kind: DbClass
    state: DatabaseState | None
    reason: str
    evidence_ids: tuple[str, ...]
    clock: AuditClock
    listed: bool = True  # False: a known Lync store that the inventory's `stores:` omits

    def verdict(self, status: Status, message: str, observed: Any = None, expected: Any = None,
                evidence_ids: tuple[str, ...] = ()) -> Verdict:
        """A verdict about this database."""
        return Verdict(subject=self.subject, status=status, message=message, observed=observed,
                       expected=expected, evidence_ids=self.evidence_ids + evidence_ids)


def instance_site(inventory: Inventory, inst: SqlInstance) -> str | None:
    """The instance's own site, else its pool's."""
    return inst.site or inventory.site_of_pool(inst.pool)


def database_subject(inventory: Inventory, inst: SqlInstance, name: str) -> tuple[Subject, Scope]:
    """`database:HOST\\INSTANCE/db` and the scope its policy is chosen by."""
    site = instance_site(inventory, inst)
    canonical = f"{inst.server_name}/{name}"
    subject = Subject(id=f"database:{canonical}", type=SubjectType.DATABASE, name=name,
                      instance=inst.server_name, host=inst.host, site=site, pool=inst.pool)
    return subject, Scope(site=site, pool=inst.pool, instance=inst.server_name, database=canonical)


def instance_subject(inventory: Inventory, inst: SqlInstance) -> tuple[Subject, Scope]:
    """`instance:HOST\\INSTANCE` and its scope."""
    site = instance_site(inventory, inst)
    subject = Subject(id=f"instance:{inst.server_name}", type=SubjectType.INSTANCE,
                      name=inst.server_name, instance=inst.server_name, host=inst.host, site=site,
                      pool=inst.pool)
    return subject, Scope(site=site, pool=inst.pool, instance=inst.server_name)


def share_subject(inventory: Inventory, unc: str) -> tuple[Subject, Scope]:
    """`share:<unc>` as the inventory spells it, with the destination's host and site."""
    dest = next((d for d in inventory.backup_destinations if d.path.lower() == unc.lower()), None)
    export = inventory.export_share
    host = dest.host if dest else None
    if host is None and export is not None and export.unc.lower() == unc.lower():
        host = export.host
    site = dest.site if dest else None
    return (Subject(id=f"share:{dest.path if dest else unc}", type=SubjectType.SHARE,
                    name=dest.path if dest else unc, host=host, site=site), Scope(site=site))


def server_subject(inventory: Inventory, fqdn: str) -> tuple[Subject, Scope]:
    """`server:<fqdn>` with its site and pool; a server not in the inventory keeps its name."""
    server = next((s for s in inventory.servers if s.fqdn.lower() == fqdn.lower()), None)
    if server is None:
        return Subject(id=f"server:{fqdn}", type=SubjectType.SERVER, name=fqdn, host=fqdn), Scope()
    site = server.site or inventory.site_of_pool(server.pool)
    return (Subject(id=f"server:{server.fqdn}", type=SubjectType.SERVER, name=server.fqdn,
                    host=server.fqdn, site=site, pool=server.pool),
            Scope(site=site, pool=server.pool))


def audited_instances(facts: Facts) -> Iterator[InstanceFacts]:
    """Instances whose databases are subjects (restore_test instances are evidence only)."""
    for inst in facts.instances:
        if inst.instance.role is not InstanceRole.RESTORE_TEST:
            yield inst


def lync_databases(facts: Facts) -> Iterator[LyncDatabase]:
    """Every store the inventory names, then every other user database found, classified."""
    for inst in audited_instances(facts):
        yield from instance_databases(facts.inventory, inst, facts.clock)


def unlisted_stores(facts: Facts) -> Iterator[LyncDatabase]:
    """The Lync stores found on audited instances that the inventory's `stores:` omits."""
    return (db for db in lync_databases(facts) if not db.listed)


def instance_databases(inventory: Inventory, inst: InstanceFacts,
                        clock: AuditClock) -> Iterator[LyncDatabase]:
    cfg = inst.instance
    dbs = inst.databases
    mirroring = inst.mirroring
    for store in cfg.stores:
        subject, scope = database_subject(inventory, cfg, store)
        kind, state, reason, ids = _classify(cfg, store, dbs, mirroring)
        yield LyncDatabase(subject, scope, inst, store, kind, state, reason, ids, clock)
    if isinstance(dbs, Known):
        listed = {s.lower() for s in cfg.stores}
        for key, state in sorted(dbs.value.items()):
            if key in listed or key == "tempdb" or state.is_snapshot:
                continue
            subject, scope = database_subject(inventory, cfg, state.name)
            if key in KNOWN_STORES and cfg.role in FINDS_UNLISTED:
                kind, _, reason, ids = _classify(cfg, state.name, dbs, mirroring)
                if kind is DbClass.TRANSIENT:
                    reason = UNLISTED_TRANSIENT
                yield LyncDatabase(subject, scope, inst, state.name, kind, state, reason, ids,
                                   clock, listed=False)
                continue
            kind = DbClass.SYSTEM if key in SYSTEM_DATABASES else DbClass.NOT_LYNC
            if cfg.role is InstanceRole.FRONT_END_LOCAL:
                kind = DbClass.LOCAL if kind is DbClass.NOT_LYNC else kind
            reason = ("system database" if kind is DbClass.SYSTEM
                      else "not a Lync store (not scored)")
            yield LyncDatabase(subject, scope, inst, state.name, kind, state, reason,
                               dbs.evidence_ids, clock)


def _classify(cfg: SqlInstance, store: str, dbs: Any, mirroring: Any
              ) -> tuple[DbClass, DatabaseState | None, str, tuple[str, ...]]:
    low = store.lower()
    if cfg.role is InstanceRole.FRONT_END_LOCAL or low in LOCAL_STORES:
        return DbClass.LOCAL, None, "local store of a Front End (rebuilt, not restored)", ()
    if isinstance(dbs, Unknown):
        return DbClass.UNKNOWN, None, f"database list unavailable: {dbs.reason}", dbs.evidence_ids
    state: DatabaseState | None = dbs.value.get(low)
    ids: tuple[str, ...] = dbs.evidence_ids
    if state is None:
        if low in TRANSIENT_STORES:
            return DbClass.TRANSIENT, None, "transient store (not required for recovery)", ids
        return DbClass.MISSING, None, f"{store} is in the inventory but not in sys.databases", ids
    if isinstance(mirroring, Known):
        mirror = mirroring.value.get(state.database_id)
        ids += mirroring.evidence_ids
        if mirror is not None and mirror.role == MIRROR_ROLE:
            return DbClass.MIRROR, state, "mirror copy (BACKUP cannot run on it; see DR-003)", ids
    elif state.state == RESTORING:
        return DbClass.UNKNOWN, state, f"RESTORING and mirroring unknown: {mirroring.reason}", ids
    if low in TRANSIENT_STORES:
        return DbClass.TRANSIENT, state, "transient store (not required for recovery)", ids
    if state.state == OFFLINE:
        return DbClass.OFFLINE, state, f"{store} is OFFLINE", ids
    return DbClass.REQUIRED, state, "", ids


def backup_gate(db: LyncDatabase) -> Verdict | None:
    """The standard verdict of a backup rule (other than BR-001) for a non-required database."""
    if db.kind is DbClass.REQUIRED:
        return None
    if db.kind is DbClass.UNKNOWN:
        return db.verdict(Status.ERROR, db.reason)
    if db.kind is DbClass.MISSING:
        return db.verdict(Status.NOT_APPLICABLE, f"{db.reason}; reported under BR-001")
    if db.kind is DbClass.OFFLINE:
        return db.verdict(Status.NOT_APPLICABLE, f"{db.reason}; reported under BR-001")
    return db.verdict(Status.NOT_APPLICABLE, db.reason)


def never_backed_up(db: LyncDatabase) -> Verdict | None:
    """Rules that inspect a backup are not_applicable when there is none (BR-001 fails it)."""
    last = db.facts.last_backups
    if isinstance(last, Unknown):
        return db.verdict(Status.ERROR, f"backup history unavailable: {last.reason}",
                          evidence_ids=last.evidence_ids)
    if any(key[0] == db.name.lower() for key in last.value):
        return None
    return db.verdict(Status.NOT_APPLICABLE, "never backed up; reported under BR-001",
                      evidence_ids=last.evidence_ids)


# --- evidence from the future (auditor.facts.clock) -----------------------------------------

def database_future(inst: InstanceFacts, name: str, clock: AuditClock) -> Future | None:
    """The latest backup time of one database, or the server's own clock, that lies beyond
    its evidence's collection."""
    low = name.lower()
    moments: list[dt.datetime] = []
    ids: list[str] = []
    ahead = server_clock_future(inst, clock)
    if ahead is not None:
        return ahead
    if isinstance(inst.backups, Known):
        ids += inst.backups.evidence_ids
        moments += [m for b in inst.backups.value if b.database_name.lower() == low
                    for m in (b.started_at, b.finished_at)]
    if isinstance(inst.last_backups, Known):
        ids += inst.last_backups.evidence_ids
        moments += [b.finished_at for key, b in inst.last_backups.value.items() if key[0] == low]
    return clock.future(f"a backup of {name} finished", moments, ids)


def server_clock_future(inst: InstanceFacts, clock: AuditClock) -> Future | None:
    """The server's own clock, read by the server_time probe, ahead of the collection."""
    if not isinstance(inst.clock, Known):
        return None
    return clock.future("the server's clock read", [inst.clock.value.utc_now],
                        inst.clock.evidence_ids)


def instance_future(inst: InstanceFacts, clock: AuditClock) -> Future | None:
    """The latest time in an instance's backup, restore and job history beyond collection."""
    found = [database_future(inst, name, clock) for name in _backed_up_names(inst) or {""}]
    if isinstance(inst.restores, Known):
        found.append(clock.future("a restore ran", [r.restored_at for r in inst.restores.value],
                                  inst.restores.evidence_ids))
    if isinstance(inst.jobs, Known):
        found.append(clock.future("a SQL Agent job ran", [r.ran_at for j in inst.jobs.value
                                                          for r in j.runs],
                                  inst.jobs.evidence_ids))
    known = [f for f in found if f is not None]
    return max(known, key=lambda f: f.moment - f.collected) if known else None


def _backed_up_names(inst: InstanceFacts) -> set[str]:
    names = {b.database_name.lower() for b in inst.backups.value} if isinstance(
        inst.backups, Known) else set()
    if isinstance(inst.last_backups, Known):
        names |= {key[0] for key in inst.last_backups.value}
    return names


def future_gate(db: LyncDatabase) -> Verdict | None:
    """A database whose backup history holds a time from the future: fail (docs/time.md)."""
    found = database_future(db.facts, db.name, db.clock)
    if found is None:
        return None
    return db.verdict(Status.FAIL, found.text, {"future_time": found.moment.isoformat(),
                                                "evidence_collected": found.collected.isoformat()},
                      evidence_ids=_history_ids(db.facts))


def _history_ids(inst: InstanceFacts) -> tuple[str, ...]:
    return inst.backups.evidence_ids + inst.last_backups.evidence_ids


def history_gate(db: LyncDatabase) -> Verdict | None:
    """The gate of a rule that inspects a database's backups: none to inspect (BR-001 fails
    it), or a history whose times cannot be trusted."""
    return never_backed_up(db) or future_gate(db)
