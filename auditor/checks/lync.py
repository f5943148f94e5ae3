"""Checks on Lync evidence: paired pools (DR-001) and CMS replication (DR-002), and the helpers
the Lync checks share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from auditor.checks.subjects import server_subject
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import AuditClock, Facts, Known, Unknown
from auditor.facts.lync import BackupServiceStatus, Replica
from auditor.findings import Status, Subject, SubjectType, Verdict
from auditor.inventory import InstanceRole, Inventory

ESTATE = Subject(id="estate", type=SubjectType.ESTATE, name="estate")


# --- shared helpers ---------------------------------------------------------------------------

def when(moment: dt.datetime) -> str:
    """'2026-11-24 09:00 UTC' for messages."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(delta: dt.timedelta) -> str:
    """'3 d 04 h 00 min', '4 h 05 min' or '7 min' for messages."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    if days:
        return f"{days} d {rest // 60:02d} h {rest % 60:02d} min"
    if rest >= 60:
        return f"{rest // 60} h {rest % 60:02d} min"
    return f"{rest} min"


def _verdict(subject: Subject, status: Status, message: str, observed: Any = None,
             expected: Any = None, ids: tuple[str, ...] = ()) -> Verdict:
    return Verdict(subject=subject, status=status, message=message, observed=observed,
                   expected=expected, evidence_ids=ids)


# --- DR-001: business-critical pools are paired across sites and in sync -----------------------

class PairedPoolInSync(Params):
    """DR-001 has no thresholds."""


EXPORT_OK = {"steadystate", "finalstate"}
EXPORT_BAD = {"errorstate", "nonsteadystate", "notinitialized"}
CMS_MODULE = "centralmgmt.cmsmaster"


def cms_pools(inventory: Inventory) -> set[str]:
    """Pools whose Back End instance holds xds, i.e. the Central Management store's pool."""
    return {i.pool.lower() for i in inventory.sql_instances
            if i.role is InstanceRole.BACK_END and i.pool
            and "xds" in {s.lower() for s in i.stores}}


def _sync_state(pool: str, status: BackupServiceStatus, cms: set[str]
                ) -> tuple[list[str], list[str]]:
    """Problems (fail) and unknowns (error) in one pool's Backup Service modules."""
    problems: list[str] = []
    unknowns: list[str] = []
    if not status.modules:
        unknowns.append(f"{pool}: the Backup Service reported no modules")
    for m in status.modules:
        export, imp = m.export_status.lower(), m.import_status.lower()
        where = f"{pool} {m.identity}"
        if export == "notinitialized" and m.identity.lower() == CMS_MODULE:
            if not cms:
                unknowns.append(f"{where}: export NotInitialized, and the inventory does not say "
                                "which pool holds the CMS (no back_end instance with xds)")
            elif pool.lower() in cms:
                problems.append(f"{where}: export NotInitialized on the CMS master's pool")
        elif export in EXPORT_BAD:
            problems.append(f"{where}: export {m.export_status}")
        elif export not in EXPORT_OK:
            unknowns.append(f"{where}: {_odd('export', m.export_status)}")
        if imp == "errorstate":
            problems.append(f"{where}: import {m.import_status}")
        elif imp != "normalstate":
            unknowns.append(f"{where}: {_odd('import', m.import_status)}")
    return problems, unknowns


def _odd(side: str, value: str) -> str:
    return f"unrecognised {side} status {value!r}" if value else f"no {side} status reported"


@check_kind("paired_pool_in_sync", PairedPoolInSync)
def paired_pool_in_sync(facts: Facts, params: ParamsFor[PairedPoolInSync]) -> Iterator[Verdict]:
    """Each business-critical pool has a backup pool in another site, and both are in sync."""
    inv = facts.inventory
    for pool in inv.pools:
        subject = Subject(id=f"pool:{pool.fqdn}", type=SubjectType.POOL, name=pool.fqdn,
                          site=pool.site, pool=pool.fqdn)
        if not pool.business_critical:
            yield _verdict(subject, Status.NOT_APPLICABLE, "not marked business-critical")
            continue
        yield _pairing(subject, facts, pool.fqdn, pool.site, pool.backup_pool)


def _pairing(subject: Subject, facts: Facts, fqdn: str, site: str,
             backup: str | None) -> Verdict:
    expected = "a backup pool in another site, confirmed by Lync, with every Backup Service " \
               "module exporting (SteadyState/FinalState) and importing (NormalState)"
    inv, lync = facts.inventory, facts.lync
    problems: list[str] = []
    unknowns: list[str] = []
    ids: tuple[str, ...] = ()
    observed: dict[str, Any] = {"backup_pool": backup}
    if backup is None:
        return _verdict(subject, Status.FAIL, "business-critical, but the inventory gives no "
                        "backup pool", observed, expected)
    backup_site = inv.site_of_pool(backup)
    observed["backup_pool_site"] = backup_site
    if backup_site == site:
        problems.append(f"backup pool {backup} is in the same site ({site})")
    reported = lync.backup_pools.get(fqdn.lower(), Unknown(f"no pairing evidence for {fqdn}"))
    if isinstance(reported, Unknown):
        unknowns.append(f"pool pairing unavailable: {reported.reason}")
    else:
        observed["lync_backup_pool"] = reported.value
        if reported.value is None:
            problems.append(f"Lync reports no backup pool (inventory: {backup})")
        elif reported.value.lower() != backup.lower():
            problems.append(f"Lync reports backup pool {reported.value}, the inventory says "
                            f"{backup}")
    ids += reported.evidence_ids
    cms = cms_pools(inv)
    for side in (fqdn, backup):
        status = lync.backup_service.get(side.lower(),
                                         Unknown(f"no backup_service_status evidence for {side}"))
        ids += status.evidence_ids
        if isinstance(status, Unknown):
            unknowns.append(f"Backup Service status of {side} unavailable: {status.reason}")
            continue
        observed[side] = {m.identity: f"{m.export_status}/{m.import_status}"
                          for m in status.value.modules}
        more, unsure = _sync_state(side, status.value, cms)
        problems += more
        unknowns += unsure
    if problems:
        extra = f" (also could not assess: {'; '.join(unknowns)})" if unknowns else ""
        return _verdict(subject, Status.FAIL, "; ".join(problems) + extra, observed, expected,
                        ids)
    if unknowns:
        return _verdict(subject, Status.ERROR, "; ".join(unknowns), observed, expected, ids)
    return _verdict(subject, Status.PASS, f"paired with {backup} ({backup_site}); the Backup "
                    "Service reports both pools in sync", observed, expected, ids)


# --- DR-002: CMS replicas up to date ----------------------------------------------------------

class CmsReplicasCurrent(Params):
    """DR-002: how old a replica's last status report may be."""

    max_status_age_hours: float = Field(default=24, gt=0, le=24 * 30)


@check_kind("cms_replicas_current", CmsReplicasCurrent)
def cms_replicas_current(facts: Facts, params: ParamsFor[CmsReplicasCurrent]) -> Iterator[Verdict]:
    """Each CMS replica is UpToDate and reported its status recently."""
    replicas = facts.lync.cms_replicas
    if isinstance(replicas, Unknown) or not replicas.value:
        reason = replicas.reason if isinstance(replicas, Unknown) else "no replica was reported"
        yield _verdict(ESTATE, Status.ERROR, f"CMS replication status unavailable: {reason}",
                       ids=replicas.evidence_ids)
        return
    for replica in replicas.value:
        subject, scope = server_subject(facts.inventory, replica.fqdn)
        yield _replica(subject, replica, facts.clock, params(scope), replicas)


def _replica(subject: Subject, replica: Replica, clock: AuditClock, p: CmsReplicasCurrent,
             fact: Known[tuple[Replica, ...]]) -> Verdict:
    limit = p.max_status_age_hours
    expected = f"UpToDate, last status report within {limit:g} h"
    report = replica.last_status_report
    observed: dict[str, Any] = {"up_to_date": replica.up_to_date,
                                "last_status_report": report.isoformat() if report else None,
                                "last_update_creation": (replica.last_update_creation.isoformat()
                                                         if replica.last_update_creation else None)}
    ids = fact.evidence_ids
    future = clock.future("last status report", [report, replica.last_update_creation], ids)
    if future is not None:
        return _verdict(subject, Status.FAIL, future.text, observed, expected, ids)
    problems = [] if replica.up_to_date else ["not UpToDate"]
    if report is None:
        problems.append("has never reported its status")
        return _verdict(subject, Status.FAIL, "; ".join(problems), observed, expected, ids)
    age = clock.age(report)
    observed["status_age_hours"] = round(age.total_seconds() / 3600, 1)
    if age > dt.timedelta(hours=limit):
        problems.append(f"last status report {span(age)} ago, over the {limit:g} h limit")
    if problems:
        return _verdict(subject, Status.FAIL, "; ".join(problems), observed, expected, ids)
    return _verdict(subject, Status.PASS, f"UpToDate, last status report {span(age)} ago",
                    observed, expected, ids)


KINDS: tuple[CheckKind[Any], ...] = (paired_pool_in_sync, cms_replicas_current)
