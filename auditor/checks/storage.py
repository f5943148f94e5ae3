"""P5, P6 storage checks: remote destinations, encryption, retention; the path helpers the
storage checks share."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from auditor.checks.subjects import (
    LyncDatabase,
    backup_gate,
    history_gate,
    lync_databases,
)
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import AuditClock, Fact, Facts, InstanceFacts, Known, Unknown
from auditor.facts.sql import Backup, BackupDevice
from auditor.findings import Status, Verdict, worst
from auditor.inventory import BackupDestination

DISK_DEVICE, URL_DEVICE, VIRTUAL_DEVICE, TAPE_DEVICE = 2, 9, 7, 5
Devices = dict[int, tuple[BackupDevice, ...]]
_DRIVE = re.compile(r"^[a-z]:")


def _norm(path: str) -> str:
    return path.strip().replace("/", "\\").lower()


def is_under(path: str, root: str) -> bool:
    """True when `path` lies inside the folder `root` (case-insensitive, no partial names)."""
    return _norm(path).startswith(_norm(root).rstrip("\\") + "\\")


def is_url(path: str) -> bool:
    """A BACKUP TO URL destination (Azure blob storage)."""
    return path.strip().lower().startswith("https://")


def destination_of(facts: Facts, path: str) -> BackupDestination | None:
    """The inventory destination that holds `path` (the longest matching prefix)."""
    found = [d for d in facts.inventory.backup_destinations if is_under(path, d.path)]
    return max(found, key=lambda d: len(d.path)) if found else None


def recent_backups(history: tuple[Backup, ...], name: str, clock: AuditClock,
                   days: float) -> list[Backup]:
    """Backups of one database that finished in the last `days` days, newest first (callers
    gate future times first: history_gate)."""
    limit = dt.timedelta(days=days)
    found = [b for b in history if b.database_name.lower() == name.lower()
             and clock.age(b.finished_at) <= limit]
    return sorted(found, key=lambda b: b.finished_at, reverse=True)


def _required(db: LyncDatabase) -> Verdict | None:
    """The gate every per-database storage rule shares (rules.md "Subjects")."""
    return backup_gate(db) or history_gate(db)


History = tuple[tuple[Backup, ...], Devices, tuple[str, ...]]


def _history(db: LyncDatabase, expected: str) -> History | Verdict:
    """The instance's backup sets and devices, or the error verdict saying why they are unknown."""
    backups, devices = db.facts.backups, db.facts.devices
    if isinstance(backups, Unknown):
        return db.verdict(Status.ERROR, f"backup history unavailable: {backups.reason}",
                          expected=expected, evidence_ids=backups.evidence_ids)
    if isinstance(devices, Unknown):
        return db.verdict(Status.ERROR, f"backup devices unavailable: {devices.reason}",
                          expected=expected, evidence_ids=devices.evidence_ids)
    return backups.value, devices.value, backups.evidence_ids + devices.evidence_ids


# --- BR-040 ---------------------------------------------------------------------------------

class RecentBackupsParams(Params):
    """BR-040/BR-042: judge the backups of the last lookback_days days."""

    lookback_days: float = Field(default=7, gt=0, le=35)


def host_names(inst: InstanceFacts) -> set[str]:
    """Every name by which a UNC path can point back at the SQL Server host itself."""
    cfg = inst.instance
    names = {cfg.host.lower(), cfg.host.split(".")[0].lower(),
             cfg.server_name.split("\\")[0].lower(), "localhost", ".", "::1", "[::1]"}
    if isinstance(inst.clock, Known) and inst.clock.value.machine_name:
        names.add(inst.clock.value.machine_name.lower())
    return names


def classify_device(device: BackupDevice, own: set[str]) -> tuple[Status, str]:
    """Whether one backup device is remote from the SQL host: status and a DBA's description."""
    path = device.physical_device_name.strip()
    if device.device_type == VIRTUAL_DEVICE:
        return Status.WARN, f"written to virtual device {path or '(unnamed)'} (a third-party " \
                            "agent; where it keeps the backup is not visible to SQL Server)"
    if device.device_type == URL_DEVICE or is_url(path):
        return Status.PASS, f"written to the URL {path}"
    if device.device_type == TAPE_DEVICE:
        return Status.WARN, f"written to tape {path} (remote only if the tapes leave the site)"
    low = _norm(path)
    if low in ("nul", "nul:"):
        return Status.FAIL, "written to NUL (the backup was thrown away)"
    if low.startswith("\\\\?\\unc\\"):
        low = "\\\\" + low[8:]
    elif low.startswith(("\\\\?\\", "\\\\.\\")):
        return Status.FAIL, f"written to {path}, a local device path of the SQL Server host"
    if _DRIVE.match(low):
        return Status.FAIL, f"written to {path}, a local drive of the SQL Server host"
    if low.startswith("\\\\"):
        host = low[2:].split("\\", 1)[0]
        if host in own or host.startswith("127."):
            return Status.FAIL, f"written to {path}, a share on the SQL Server host itself"
        return Status.PASS, f"written to {path}, a share on another host"
    return Status.ERROR, f"cannot tell where {path!r} (device type {device.device_type}) is"


@check_kind("backups_written_remote", RecentBackupsParams)
def backups_written_remote(facts: Facts, params: ParamsFor[RecentBackupsParams]
                           ) -> Iterator[Verdict]:
    """Each required store's recent backups went to a host other than the SQL Server itself."""
    for db in lync_databases(facts):
        yield _required(db) or _remote_verdict(db, params(db.scope))


def _remote_verdict(db: LyncDatabase, p: RecentBackupsParams) -> Verdict:
    expected = "backups written to another host (UNC) or a URL"
    history = _history(db, expected)
    if isinstance(history, Verdict):
        return history
    backups, devices, ids = history
    recent = recent_backups(backups, db.name, db.clock, p.lookback_days)
    if not recent:
        return db.verdict(Status.NOT_APPLICABLE, f"no backup in the last {p.lookback_days:g} d; "
                          "reported under BR-001", expected=expected, evidence_ids=ids)
    own = host_names(db.facts)
    judged: list[tuple[Status, str]] = []
    for b in recent:
        devs = devices.get(b.media_set_id, ())
        if not devs:
            judged.append((Status.ERROR, f"backup set {b.backup_set_id} has no device row "
                           "(backupmediafamily)"))
        judged.extend(classify_device(d, own) for d in devs)
    status = worst([s for s, _ in judged])
    what = next(text for s, text in judged if s is status)
    places = sorted({text for _, text in judged})
    observed = {"backups": len(recent), "destinations": places[:10]}
    count = _backups_text(len(recent), p.lookback_days)
    if status is Status.PASS:
        return db.verdict(status, f"{count}, all remote; e.g. {what}", observed, expected, ids)
    return db.verdict(status, f"{count}: {what}", observed, expected, ids)


def _backups_text(count: int, days: float) -> str:
    return f"{count} backup{'s' if count != 1 else ''} in the last {days:g} d"


# --- BR-042 ---------------------------------------------------------------------------------

def _major_version(inst: InstanceFacts) -> int | None:
    clock = inst.clock
    if isinstance(clock, Unknown) or not clock.value.product_version:
        return None
    head = clock.value.product_version.split(".")[0]
    return int(head) if head.isdigit() else None


def _encrypted_algorithm(value: str | None) -> bool:
    """backupset.key_algorithm names an algorithm (NULL or NO_Encryption mean unencrypted)."""
    return value is not None and value.strip().lower() not in ("no_encryption", "none", "")


@check_kind("backups_encrypted", RecentBackupsParams)
def backups_encrypted(facts: Facts, params: ParamsFor[RecentBackupsParams]) -> Iterator[Verdict]:
    """Each required store's recent backups are encrypted, or sit on a destination marked so."""
    for db in lync_databases(facts):
        yield _required(db) or _encryption_verdict(facts, db, params(db.scope))


def _encryption_verdict(facts: Facts, db: LyncDatabase, p: RecentBackupsParams) -> Verdict:
    expected = "encrypted backups (BACKUP ... WITH ENCRYPTION) or a destination marked encrypted"
    backups = db.facts.backups
    if isinstance(backups, Unknown):
        return db.verdict(Status.ERROR, f"backup history unavailable: {backups.reason}",
                          expected=expected, evidence_ids=backups.evidence_ids)
    recent = recent_backups(backups.value, db.name, db.clock, p.lookback_days)
    if not recent:
        return db.verdict(Status.NOT_APPLICABLE, f"no backup in the last {p.lookback_days:g} d; "
                          "reported under BR-001", expected=expected,
                          evidence_ids=backups.evidence_ids)
    enc, devices = db.facts.encryption, db.facts.devices
    ids = backups.evidence_ids + enc.evidence_ids + devices.evidence_ids
    marked = [d for d in facts.inventory.backup_destinations if d.encrypted]
    major = _major_version(db.facts)
    judged = [_backup_encryption(b, enc, devices, marked, major) for b in recent]
    status = worst([s for s, _ in judged])
    what = next(text for s, text in judged if s is status)
    if status is Status.FAIL and any(b.password_protected for b in recent):
        what += " (a media set password is not encryption)"
    observed = {"backups": len(recent), "product_version": major}
    count = _backups_text(len(recent), p.lookback_days)
    return db.verdict(status, f"{count}: {what}", observed, expected, ids)


def _backup_encryption(b: Backup, enc: Fact[dict[int, str | None]], devices: Fact[Devices],
                       marked: list[BackupDestination], major: int | None) -> tuple[Status, str]:
    """One backup's verdict: encrypted by SQL Server, on a destination marked encrypted, or not."""
    if isinstance(enc, Known) and _encrypted_algorithm(enc.value.get(b.backup_set_id)):
        return Status.PASS, f"encrypted ({enc.value[b.backup_set_id]})"
    if marked:
        if isinstance(devices, Unknown):
            return Status.ERROR, f"destination unknown: {devices.reason}"
        paths = [d.physical_device_name for d in devices.value.get(b.media_set_id, ())]
        if paths and all(any(is_under(x, m.path) for m in marked) for x in paths):
            return Status.PASS, "written to a destination the inventory marks encrypted"
    where = "its destination is not marked encrypted in the inventory"
    if isinstance(enc, Known):
        if b.backup_set_id not in enc.value:
            return Status.ERROR, f"backup set {b.backup_set_id} missing from the encryption probe"
        algorithm = enc.value[b.backup_set_id] or "NULL"
        return Status.FAIL, f"not encrypted (key_algorithm {algorithm}) and {where}"
    if major is not None and major < 12:
        return Status.FAIL, (f"not encrypted: SQL Server {major}.x (before 2014) cannot encrypt "
                             "backups, so encryption is not probed there (normal) and only the "
                             f"inventory counts, and {where}")
    version = "" if major is not None else " (and the SQL Server version is unknown)"
    return Status.ERROR, f"encryption unknown{version}: {enc.reason}"


# --- BR-050 ---------------------------------------------------------------------------------

class RetainedParams(Params):
    """BR-050: the newest full set is on disk, and at least min_full_sets full sets are."""

    min_full_sets: int = Field(default=2, ge=1, le=100)


@check_kind("backup_files_retained", RetainedParams)
def backup_files_retained(facts: Facts, params: ParamsFor[RetainedParams]) -> Iterator[Verdict]:
    """Each required store's newest full backup files still exist, and enough older ones."""
    for db in lync_databases(facts):
        yield _required(db) or _retained_verdict(facts, db, params(db.scope))


def _file_state(facts: Facts, device: BackupDevice) -> tuple[str, str, tuple[str, ...]]:
    """('present'|'missing'|'unknown', reason, evidence ids) for one backup file."""
    path = device.physical_device_name
    dest = destination_of(facts, path)
    listing = facts.lync.share_files.get(dest.path.lower()) if dest else None
    if listing is None:
        low = _norm(path)
        if device.device_type == URL_DEVICE or is_url(path):
            where = "a URL"
        elif device.device_type == VIRTUAL_DEVICE:
            where = "a virtual device (third-party agent)"
        elif low.startswith("\\\\"):
            return "unknown", f"{path} is not on an inventory backup destination, so it was " \
                              "not listed", ()
        else:
            where = "a local path" if _DRIVE.match(low) else "a device path"
        return "unknown", f"{path} is {where}, which the auditor cannot list", ()
    if isinstance(listing, Unknown):
        return "unknown", f"file listing unavailable: {listing.reason}", listing.evidence_ids
    names = {_norm(f.full_name) for f in listing.value}
    state = "present" if _norm(path) in names else "missing"
    return state, f"{path} is {'on' if state == 'present' else 'no longer on'} the share", \
        listing.evidence_ids


def _set_state(facts: Facts, devs: tuple[BackupDevice, ...]) -> tuple[str, str, tuple[str, ...]]:
    """A full backup is present when every file of one of its mirrors still exists."""
    if not devs:
        return "unknown", "no device row (backupmediafamily)", ()
    results: list[tuple[str, str, tuple[str, ...]]] = []
    for mirror in sorted({d.mirror for d in devs}):
        files = [_file_state(facts, d) for d in devs if d.mirror == mirror]
        for state in ("unknown", "missing"):
            bad = [f for f in files if f[0] == state]
            if bad:
                results.append((state, bad[0][1], tuple(i for f in files for i in f[2])))
                break
        else:
            return "present", files[0][1], tuple(i for f in files for i in f[2])
    return next((r for r in results if r[0] == "missing"), results[0])


def _retained_verdict(facts: Facts, db: LyncDatabase, p: RetainedParams) -> Verdict:
    expected = f"the newest full backup's files exist and >= {p.min_full_sets} full sets are kept"
    history = _history(db, expected)
    if isinstance(history, Verdict):
        return history
    backups, devices, ids = history
    fulls = sorted((b for b in backups if b.type == "D"
                    and b.database_name.lower() == db.name.lower()),
                   key=lambda b: b.finished_at, reverse=True)
    if not fulls:
        return db.verdict(Status.NOT_APPLICABLE, "no full backup in the collected history; "
                          "reported under BR-001", expected=expected, evidence_ids=ids)
    states = [_set_state(facts, devices.get(b.media_set_id, ())) for b in fulls]
    ids += tuple(i for s in states for i in s[2])
    kept = sum(1 for s in states if s[0] == "present")
    unknown = sum(1 for s in states if s[0] == "unknown")
    observed = {"full_backups": len(fulls), "present": kept, "unknown": unknown,
                "newest_full": fulls[0].finished_at.isoformat()}
    newest_state, newest_reason, _ = states[0]
    when = f"newest full ({fulls[0].finished_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)"
    if newest_state == "missing":
        return db.verdict(Status.FAIL, f"{when}: {newest_reason}", observed, expected, ids)
    if newest_state == "unknown":
        return db.verdict(Status.ERROR, f"{when}: {newest_reason}", observed, expected, ids)
    if kept >= p.min_full_sets:
        return db.verdict(Status.PASS, f"{kept} of {len(fulls)} full backups still on disk, "
                          "the newest among them", observed, expected, ids)
    if unknown:
        reason = next(s[1] for s in states if s[0] == "unknown")
        return db.verdict(Status.ERROR, f"only {kept} full set{'s' if kept != 1 else ''} "
                          f"confirmed on disk, {unknown} unknown: {reason}", observed, expected,
                          ids)
    return db.verdict(Status.FAIL, f"only {kept} full set{'s' if kept != 1 else ''} still on "
                      f"disk (of {len(fulls)} taken in the collected history), under the "
                      f"{p.min_full_sets} to keep", observed, expected, ids)


KINDS: tuple[CheckKind[Any], ...] = (backups_written_remote, backups_encrypted,
                                     backup_files_retained)
