"""Checks on Lync and Windows evidence: configuration exports (BR-010), the other Lync exports
(BR-011), backup share ACLs (BR-041), paired pools (DR-001) and CMS replication (DR-002)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field

from auditor.checks.subjects import server_subject, share_subject
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, Known, Unknown
from auditor.facts.base import Fact
from auditor.facts.lync import AccessRule, BackupServiceStatus, ExportFile, Replica, share_paths
from auditor.findings import Status, Subject, SubjectType, Verdict, worst
from auditor.inventory import InstanceRole, Inventory

ESTATE = Subject(id="estate", type=SubjectType.ESTATE, name="estate")
CONFIG_ENTRY = "docitemset.xml"
# A LastStatusReport up to this far after `now` is clock skew between the CMS master and the
# auditor, not a report from the future.
CLOCK_SKEW = dt.timedelta(minutes=5)


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


def matches(name: str, patterns: Sequence[str]) -> bool:
    """A file name matches one of the glob patterns, ignoring case (as Windows does)."""
    return any(fnmatchcase(name.lower(), p.lower()) for p in patterns)


def _verdict(subject: Subject, status: Status, message: str, observed: Any = None,
             expected: Any = None, ids: tuple[str, ...] = ()) -> Verdict:
    return Verdict(subject=subject, status=status, message=message, observed=observed,
                   expected=expected, evidence_ids=ids)


# --- BR-010: configuration export newer than the last CMS change -------------------------------

class ConfigExportAfterChange(Params):
    """BR-010: which files on the export share are candidate configuration exports."""

    export_patterns: list[str] = Field(
        default=["*CsConfiguration*.zip", "*Config*.zip"], min_length=1)


def is_config_export(export: ExportFile) -> bool:
    """A readable ZIP with DocItemSet.xml at its root, as Export-CsConfiguration writes it."""
    return export.is_zip and any(e.lower() == CONFIG_ENTRY for e in export.entries)


def _last_cms_change(replicas: tuple[Replica, ...]) -> tuple[dt.datetime, str] | None:
    dated = [(r.last_update_creation, r.fqdn) for r in replicas if r.last_update_creation]
    return max(dated) if dated else None


@check_kind("config_export_after_change", ConfigExportAfterChange)
def config_export_after_change(facts: Facts,
                               params: ParamsFor[ConfigExportAfterChange]) -> Iterator[Verdict]:
    """The newest valid Export-CsConfiguration ZIP is newer than the CMS's last change."""
    share = facts.inventory.export_share
    if share is None:
        yield _verdict(ESTATE, Status.ERROR, "the inventory names no export_share, so the "
                       "configuration exports cannot be looked for")
        return
    subject, scope = share_subject(facts.inventory, share.unc)
    yield _config_export(subject, facts, params(scope))


def _config_export(subject: Subject, facts: Facts, p: ConfigExportAfterChange) -> Verdict:
    expected = "a ZIP holding DocItemSet.xml written after the last CMS change"
    exports, replicas = facts.lync.exports, facts.lync.cms_replicas
    if isinstance(exports, Unknown):
        return _verdict(subject, Status.ERROR, f"export share listing unavailable: "
                        f"{exports.reason}", expected=expected, ids=exports.evidence_ids)
    if isinstance(replicas, Unknown):
        return _verdict(subject, Status.ERROR, f"CMS replication status unavailable: "
                        f"{replicas.reason}", expected=expected, ids=replicas.evidence_ids)
    ids = exports.evidence_ids + replicas.evidence_ids
    candidates = [f for f in exports.value if matches(f.name, p.export_patterns)]
    invalid = sorted(f.name for f in candidates if not is_config_export(f))
    valid = [f for f in candidates if is_config_export(f) and f.modified_at <= facts.now]
    future = sorted(f.name for f in candidates
                    if is_config_export(f) and f.modified_at > facts.now)
    change = _last_cms_change(replicas.value)
    observed: dict[str, Any] = {"last_cms_change": change[0].isoformat() if change else None,
                                "not_valid_exports": invalid, "dated_after_audit_time": future}
    notes = ""
    if invalid:
        notes += (f"; {len(invalid)} matching file(s) are not valid exports (no DocItemSet.xml "
                  f"or not a readable ZIP): {', '.join(invalid[:5])}")
    if future:
        notes += f"; ignored as dated after the audit time: {', '.join(future[:5])}"
    if not valid:
        observed["newest_export"] = None
        return _verdict(subject, Status.FAIL, "no configuration export on the share (no ZIP "
                        f"matching {', '.join(p.export_patterns)} holds DocItemSet.xml){notes}",
                        observed, expected, ids)
    newest = max(valid, key=lambda f: f.modified_at)
    observed.update(newest_export=newest.name, export_written=newest.modified_at.isoformat())
    if change is None:
        return _verdict(subject, Status.ERROR, "no CMS replica reported a LastUpdateCreation, so "
                        "the last configuration change is unknown", observed, expected, ids)
    changed_at, replica = change
    observed["reported_by"] = replica
    gap = newest.modified_at - changed_at
    if gap > dt.timedelta(0):
        return _verdict(subject, Status.PASS, f"newest configuration export {newest.name} was "
                        f"written {span(gap)} after the last CMS change ({when(changed_at)})",
                        observed, expected, ids)
    return _verdict(subject, Status.FAIL, f"the CMS changed at {when(changed_at)}, {span(gap)} "
                    f"after the newest configuration export {newest.name} "
                    f"({when(newest.modified_at)}){notes}", observed, expected, ids)


# --- BR-011: LIS, RGS, user-data exports and the file store copy are fresh ---------------------

class ExportsFresh(Params):
    """BR-011: the age limit, and the file-name patterns of each export kind ([] = not in use)."""

    max_age_days: float = Field(default=7, gt=0, le=366)
    lis_patterns: list[str] = Field(default=["*Lis*.zip"])
    rgs_patterns: list[str] = Field(default=["*Rgs*.zip"])
    user_data_patterns: list[str] = Field(default=["*UserData*.zip"])
    file_store_patterns: list[str] = Field(default=["FileStore*"])


EXPORT_KINDS = (("lis", "LIS export"), ("rgs", "Response Group export"),
                ("user_data", "user data export"), ("file_store", "file store copy"))
RGS_CHANGE = "not assessed: no evidence of the last Response Group change is collected"


def _usable(export: ExportFile) -> bool:
    """A .zip must open and hold entries; any other file (archive, robocopy log) counts as is."""
    return not export.name.lower().endswith(".zip") or (export.is_zip and bool(export.entries))


@check_kind("lync_exports_fresh", ExportsFresh)
def lync_exports_fresh(facts: Facts, params: ParamsFor[ExportsFresh]) -> Iterator[Verdict]:
    """One finding per export share: the worst of the four export kinds, each listed."""
    share = facts.inventory.export_share
    if share is None:
        yield _verdict(ESTATE, Status.ERROR, "the inventory names no export_share, so the LIS, "
                       "Response Group, user data and file store copies cannot be looked for")
        return
    subject, scope = share_subject(facts.inventory, share.unc)
    p = params(scope)
    exports = facts.lync.exports
    expected = f"each export kind in use has a copy no older than {p.max_age_days:g} d"
    if isinstance(exports, Unknown):
        yield _verdict(subject, Status.ERROR, f"export share listing unavailable: "
                       f"{exports.reason}", expected=expected, ids=exports.evidence_ids)
        return
    limit = dt.timedelta(days=p.max_age_days)
    statuses: list[Status] = []
    bad: list[str] = []
    good: list[str] = []
    observed: dict[str, Any] = {"newer_than_last_rgs_change": RGS_CHANGE}
    for key, label in EXPORT_KINDS:
        patterns: list[str] = getattr(p, f"{key}_patterns")
        if not patterns:
            observed[key] = {"status": "not_in_use"}
            continue
        found = [f for f in exports.value if matches(f.name, patterns)]
        usable = [f for f in found if _usable(f) and f.modified_at <= facts.now]
        broken = [f.name for f in found if not _usable(f)]
        why = f" ({len(broken)} unreadable or empty ZIP ignored)" if broken else ""
        if not usable:
            statuses.append(Status.FAIL)
            bad.append(f"no {label} matching {', '.join(patterns)}{why}")
            observed[key] = {"status": "fail", "newest": None}
            continue
        newest = max(usable, key=lambda f: f.modified_at)
        age = facts.now - newest.modified_at
        fresh = age <= limit
        statuses.append(Status.PASS if fresh else Status.FAIL)
        observed[key] = {"status": "pass" if fresh else "fail", "newest": newest.name,
                         "written": newest.modified_at.isoformat(),
                         "age_days": round(age.total_seconds() / 86400, 2)}
        (good if fresh else bad).append(f"{label} {newest.name} {span(age)} old{why}")
    if not statuses:
        yield _verdict(subject, Status.NOT_APPLICABLE, "no export kind is in use (all patterns "
                       "emptied by policy)", observed, expected, exports.evidence_ids)
        return
    status = worst(statuses)
    if status is Status.PASS:
        message = "fresh: " + "; ".join(good)
    else:
        message = f"over {p.max_age_days:g} d or missing: " + "; ".join(bad)
        message += f" (fresh: {'; '.join(good)})" if good else ""
    yield _verdict(subject, status, message, observed, expected, exports.evidence_ids)


# --- BR-041: backup share ACLs -------------------------------------------------------------------

class ShareAclRestricted(Params):
    """BR-041: the accounts, besides the built-in ones, that may write to backup shares."""

    backup_accounts: list[str] = Field(default_factory=list)


BROAD = {"everyone", "s-1-1-0", "builtin\\users", "s-1-5-32-545",
         "nt authority\\authenticated users", "s-1-5-11", "nt authority\\anonymous logon",
         "s-1-5-7"}
ALWAYS_ALLOWED = {"builtin\\administrators", "s-1-5-32-544", "nt authority\\system", "s-1-5-18",
                  "creator owner", "s-1-3-0"}
WRITE_NAMES = {"writedata", "createfiles", "appenddata", "createdirectories",
               "writeextendedattributes", "writeattributes", "write", "delete",
               "deletesubdirectoriesandfiles", "changepermissions", "takeownership", "modify",
               "fullcontrol"}
READ_NAMES = {"readdata", "listdirectory", "readextendedattributes", "executefile", "traverse",
              "readattributes", "readpermissions", "synchronize", "read", "readandexecute"}
# FILE_WRITE_DATA, FILE_APPEND_DATA, FILE_WRITE_EA, FILE_DELETE_CHILD, FILE_WRITE_ATTRIBUTES,
# DELETE, WRITE_DAC, WRITE_OWNER, GENERIC_ALL, GENERIC_WRITE
WRITE_BITS = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000 | 0x10000000 | 0x40000000


def grants_write(rights: str) -> bool:
    """Whether a FileSystemRights value (names or a number) lets its holder alter files."""
    write = False
    for token in (t.strip() for t in rights.split(",")):
        low = token.lower()
        if re.fullmatch(r"-?\d+|0x[0-9a-f]+", low):
            write |= bool(int(low, 0) & 0xFFFFFFFF & WRITE_BITS)
        elif low in WRITE_NAMES:
            write = True
        elif low not in READ_NAMES:
            raise ValueError(f"unrecognised right {token!r}")
    return write


@check_kind("backup_share_acl_restricted", ShareAclRestricted)
def backup_share_acl_restricted(facts: Facts,
                                params: ParamsFor[ShareAclRestricted]) -> Iterator[Verdict]:
    """No broad group has any allow rule; only backup accounts and built-ins may write."""
    for unc in share_paths(facts.inventory):
        subject, scope = share_subject(facts.inventory, unc)
        acl = facts.lync.share_acls.get(unc.lower(), Unknown(f"no share_acl evidence for {unc}"))
        yield _acl_verdict(subject, acl, params(scope))


def _acl_verdict(subject: Subject, acl: Fact[tuple[AccessRule, ...]],
                 p: ShareAclRestricted) -> Verdict:
    allowed = ALWAYS_ALLOWED | {a.lower() for a in p.backup_accounts}
    expected = {"no_access_for": "Everyone, BUILTIN\\Users, NT AUTHORITY\\Authenticated Users",
                "write_only_for": sorted(p.backup_accounts) + sorted(
                    ["BUILTIN\\Administrators", "NT AUTHORITY\\SYSTEM", "CREATOR OWNER"])}
    if isinstance(acl, Unknown):
        return _verdict(subject, Status.ERROR, f"ACL unavailable: {acl.reason}",
                        expected=expected, ids=acl.evidence_ids)
    if not acl.value:
        return _verdict(subject, Status.ERROR, "the ACL read back with no entries (an empty or "
                        "a null DACL cannot be told apart)", [], expected, acl.evidence_ids)
    broad, writers = [], []
    for rule in (r for r in acl.value if r.allow):
        entry = f"{rule.identity} ({rule.rights})"
        try:
            write = grants_write(rule.rights)
        except ValueError as exc:
            return _verdict(subject, Status.ERROR, f"ACL entry of {rule.identity}: {exc}",
                            expected=expected, ids=acl.evidence_ids)
        if rule.identity.lower() in BROAD:
            broad.append(entry)
        elif write and rule.identity.lower() not in allowed:
            writers.append(entry)
    observed = {"broad_access": broad, "unexpected_writers": writers,
                "entries": [f"{'Allow' if r.allow else 'Deny'} {r.identity} ({r.rights})"
                            + (" inherited" if r.inherited else "") for r in acl.value]}
    problems = []
    if broad:
        problems.append(f"grants broad groups access: {', '.join(broad)}")
    if writers:
        problems.append(f"grants write to accounts that are not backup accounts: "
                        f"{', '.join(writers)}")
    if problems:
        return _verdict(subject, Status.FAIL, "; ".join(problems), observed, expected,
                        acl.evidence_ids)
    count = f"{len(acl.value)} ACL {'entry' if len(acl.value) == 1 else 'entries'}"
    return _verdict(subject, Status.PASS, f"{count}: no broad access, write only for backup "
                    "accounts and built-in accounts", observed, expected, acl.evidence_ids)


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
        yield _replica(subject, replica, facts.now, params(scope), replicas)


def _replica(subject: Subject, replica: Replica, now: dt.datetime, p: CmsReplicasCurrent,
             fact: Known[tuple[Replica, ...]]) -> Verdict:
    limit = p.max_status_age_hours
    expected = f"UpToDate, last status report within {limit:g} h"
    report = replica.last_status_report
    observed: dict[str, Any] = {"up_to_date": replica.up_to_date,
                                "last_status_report": report.isoformat() if report else None,
                                "last_update_creation": (replica.last_update_creation.isoformat()
                                                         if replica.last_update_creation else None)}
    ids = fact.evidence_ids
    if report is not None and report - now > CLOCK_SKEW:
        return _verdict(subject, Status.ERROR, f"last status report {when(report)} is "
                        f"{span(report - now)} after the audit time (clock skew?)", observed,
                        expected, ids)
    problems = [] if replica.up_to_date else ["not UpToDate"]
    if report is None:
        problems.append("has never reported its status")
        return _verdict(subject, Status.FAIL, "; ".join(problems), observed, expected, ids)
    age = max(now - report, dt.timedelta(0))
    observed["status_age_hours"] = round(age.total_seconds() / 3600, 1)
    if age > dt.timedelta(hours=limit):
        problems.append(f"last status report {span(age)} ago, over the {limit:g} h limit")
    if problems:
        return _verdict(subject, Status.FAIL, "; ".join(problems), observed, expected, ids)
    return _verdict(subject, Status.PASS, f"UpToDate, last status report {span(age)} ago",
                    observed, expected, ids)


KINDS: tuple[CheckKind[Any], ...] = (config_export_after_change, lync_exports_fresh,
                                     backup_share_acl_restricted, paired_pool_in_sync,
                                     cms_replicas_current)
