"""P3 storage check: space on the backup shares (BR-020)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from auditor.checks.storage import is_under, is_url
from auditor.checks.subjects import (
    audited_instances,
    instance_future,
    share_subject,
)
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, InstanceFacts, Unknown
from auditor.facts.sql import Backup
from auditor.findings import Status, Subject, Verdict
from auditor.inventory import BackupDestination, InstanceRole


def size_text(size: float) -> str:
    """Bytes as '12.3 GB' (binary units, as Windows shows them), for messages."""
    units = ("B", "KB", "MB", "GB", "TB")
    step = 0
    while abs(size) >= 1024 and step < len(units) - 1:
        size /= 1024
        step += 1
    return f"{size:.0f} B" if step == 0 else f"{size:.1f} {units[step]}"


# --- BR-020 ---------------------------------------------------------------------------------

class ShareSpaceParams(Params):
    """BR-020: free >= min_free_ratio x one full set, now and at the growth over trend_days."""

    min_free_ratio: float = Field(default=1.5, gt=0, le=100)
    trend_days: float = Field(default=14, gt=0, le=365)


def _slope_per_day(points: list[tuple[dt.datetime, int]]) -> float:
    """Least-squares growth of backup size, bytes per day (0 unless the points span a day)."""
    if not points:
        return 0.0
    first = min(t for t, _ in points)
    xs = [(t - first).total_seconds() / 86400 for t, _ in points]
    if max(xs) < 1:
        return 0.0
    ys = [float(s) for _, s in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def _writers(facts: Facts) -> Iterator[InstanceFacts]:
    """Instances whose backups must fit on the shares (not Front End local, not restore-test)."""
    for inst in audited_instances(facts):
        if inst.instance.role is not InstanceRole.FRONT_END_LOCAL:
            yield inst


@check_kind("backup_share_has_space", ShareSpaceParams)
def backup_share_has_space(facts: Facts, params: ParamsFor[ShareSpaceParams]) -> Iterator[Verdict]:
    """Each backup destination has room for 1.5 full sets, and will still have in 14 days."""
    for dest in facts.inventory.backup_destinations:
        subject, scope = share_subject(facts.inventory, dest.path)
        yield _share_verdict(facts, dest, subject, params(scope))


Series = dict[tuple[str, str], list[Backup]]


def _full_series(facts: Facts, dest: BackupDestination) -> tuple[Series, tuple[str, ...]] | Unknown:
    """Full backups written under `dest` per (instance, database); Unknown if a history is."""
    series: Series = {}
    ids: tuple[str, ...] = ()
    for inst in _writers(facts):
        backups, devices = inst.backups, inst.devices
        if isinstance(backups, Unknown):
            return _unreadable(inst, backups)
        if isinstance(devices, Unknown):
            return _unreadable(inst, devices)
        ids += backups.evidence_ids + devices.evidence_ids
        for b in backups.value:
            devs = devices.value.get(b.media_set_id, ())
            if b.type == "D" and any(
                    is_under(d.physical_device_name, dest.path) for d in devs):
                key = (inst.instance.server_name, b.database_name.lower())
                series.setdefault(key, []).append(b)
    return series, ids


def _unreadable(inst: InstanceFacts, unknown: Unknown) -> Unknown:
    return Unknown(f"backup history of {inst.instance.server_name} unavailable: "
                   f"{unknown.reason}", unknown.evidence_ids)


def _share_verdict(facts: Facts, dest: BackupDestination, subject: Subject,
                   p: ShareSpaceParams) -> Verdict:
    def verdict(status: Status, message: str, observed: Any = None,
                ids: tuple[str, ...] = ()) -> Verdict:
        expected = (f"free space >= {p.min_free_ratio:g} x one full set, also at the growth "
                    f"expected over the next {p.trend_days:g} d")
        return Verdict(subject=subject, status=status, message=message, observed=observed,
                       expected=expected, evidence_ids=ids)

    if is_url(dest.path):
        return verdict(Status.NOT_APPLICABLE, "URL destination (blob storage): no volume to fill")
    space = facts.lync.share_space.get(dest.path.lower())
    if space is None:
        return verdict(Status.ERROR, f"{dest.path} is not a UNC share, so its free space cannot "
                       "be read (BR-040 judges local destinations)")
    if isinstance(space, Unknown):
        return verdict(Status.ERROR, f"free space unknown: {space.reason}", ids=space.evidence_ids)
    future = next((f for inst in _writers(facts) if (f := instance_future(inst, facts.clock))),
                  None)
    if future is not None:  # the sizes' trend is read along their times
        return verdict(Status.FAIL, future.text, {"future_time": future.moment.isoformat()})
    free, total = space.value.free_bytes, space.value.total_bytes
    if free < 0 or total <= 0 or free > total:
        return verdict(Status.ERROR, f"implausible share size: {free} bytes free of {total}",
                       ids=space.evidence_ids)
    found = _full_series(facts, dest)
    if isinstance(found, Unknown):
        return verdict(Status.ERROR, found.reason, ids=space.evidence_ids + found.evidence_ids)
    series, history_ids = found
    ids = space.evidence_ids + history_ids
    if not series:
        return verdict(Status.NOT_APPLICABLE, "no full backup in the collected history was "
                       "written to this destination", {"free_bytes": free}, ids)
    full_set = sum(max(s, key=lambda b: b.finished_at).size_bytes for s in series.values())
    growth = sum(_slope_per_day([(b.finished_at, b.size_bytes) for b in s])
                 for s in series.values())
    ratio = free / full_set if full_set else float("inf")
    observed = {"free_bytes": free, "total_bytes": total, "full_set_bytes": full_set,
                "databases": len(series), "free_ratio": round(ratio, 3) if full_set else None,
                "growth_bytes_per_day": round(growth)}
    count = f"{len(series)} database{'s' if len(series) != 1 else ''}"
    have = f"{size_text(free)} free for a full set of {size_text(full_set)} ({count})"
    if free < p.min_free_ratio * full_set:
        return verdict(Status.FAIL, f"{have}: {ratio:.2f} x, under the {p.min_free_ratio:g} x "
                       "minimum", observed, ids)
    if growth > 0 and free < p.min_free_ratio * (full_set + growth * p.trend_days):
        days_left = (free / p.min_free_ratio - full_set) / growth
        return verdict(Status.WARN, f"{have}: {ratio:.2f} x now, but the full set grows "
                       f"{size_text(growth)}/day, so the margin runs out in {days_left:.1f} d "
                       f"(within {p.trend_days:g} d)", observed, ids)
    trend = f", growing {size_text(growth)}/day" if growth > 0 else ""
    return verdict(Status.PASS, f"{have}: {ratio:.2f} x{trend}", observed, ids)


KINDS: tuple[CheckKind[Any], ...] = (backup_share_has_space,)
