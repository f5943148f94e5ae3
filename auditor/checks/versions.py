"""P10, P11 checks: installed product versions against the media records (DR-010), and each
server against its hardware and software record (DR-020)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from auditor.checks.records import (
    ESTATE,
    MaxAgeDays,
    _listed,
    _subject,
    _verdict,
    age_days,
    future_date,
)
from auditor.checks.subjects import server_subject
from auditor.engine.registry import ESTATE_SCOPE, CheckKind, ParamsFor, check_kind
from auditor.facts import Facts, Known, Unknown
from auditor.facts.lync import ServerInventory
from auditor.findings import Status, Subject, SubjectType, Verdict
from auditor.records import HardwareSoftwareRecord, MediaRecord, normal

# --- version helpers ------------------------------------------------------------------------

def version_key(version: str) -> str:
    """'11.00.5058.0' -> '11.0.5058': numeric parts without leading zeros, trailing .0 dropped."""
    parts = [str(int(p)) if p.isdigit() else p for p in version.strip().lower().split(".")]
    while len(parts) > 1 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)


def _version_order(version: str) -> tuple[tuple[int, int, str], ...]:
    parts = version_key(version).split(".")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def names_match(recorded: str, observed: str) -> bool:
    """Word sets, ignoring case and punctuation: one holds all the words of the other."""
    a, b = set(re.findall(r"[a-z0-9]+", recorded.lower())), set(re.findall(r"[a-z0-9]+",
                                                                           observed.lower()))
    return bool(a and b) and (a <= b or b <= a)


# --- DR-010 ---------------------------------------------------------------------------------

@dataclass
class _Installed:
    name: str
    version: str
    where: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


@dataclass
class _Estate:
    installed: dict[tuple[str, str], _Installed] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)
    gap_ids: list[str] = field(default_factory=list)

    def add(self, name: str, version: str, where: str, ids: Iterable[str]) -> None:
        item = self.installed.setdefault((normal(name), version_key(version)),
                                         _Installed(name, version))
        item.where.append(where)
        item.ids.extend(ids)

    def gap(self, what: str, ids: Iterable[str]) -> None:
        self.gaps.append(what)
        self.gap_ids.extend(ids)


def installed_versions(facts: Facts) -> _Estate:
    """Every product version the evidence shows, and what could not be observed."""
    estate = _Estate()
    for inst in facts.instances:
        where, clock = inst.instance.server_name, inst.clock
        if isinstance(clock, Unknown):
            estate.gap(f"{where}: {clock.reason}", clock.evidence_ids)
        elif clock.value.product_version is None:
            estate.gap(f"{where}: no SQL Server version reported", clock.evidence_ids)
        else:
            estate.add("SQL Server", clock.value.product_version, where, clock.evidence_ids)
    for server in facts.inventory.servers:
        fqdn = server.fqdn
        report = facts.lync.servers.get(fqdn.lower(), Unknown(f"no evidence for {fqdn}"))
        if isinstance(report, Unknown):
            estate.gap(f"{fqdn}: {report.reason}", report.evidence_ids)
            continue
        inv = report.value
        for product in inv.products:
            estate.add(product.name, product.version, fqdn, report.evidence_ids)
        if inv.os_caption and inv.os_version:
            estate.add(inv.os_caption, inv.os_version, fqdn, report.evidence_ids)
        else:
            estate.gap(f"{fqdn}: no Windows caption and version reported", report.evidence_ids)
    hardware = facts.records.hardware_software
    if isinstance(hardware, Unknown):
        estate.gap(f"firmware versions: {hardware.reason}", hardware.evidence_ids)
    else:
        for rec in hardware.value:
            if rec.firmware:
                estate.add(_firmware_name(rec), rec.firmware, rec.server, hardware.evidence_ids)
    return estate


def _firmware_name(rec: HardwareSoftwareRecord) -> str:
    maker = " ".join(part for part in (rec.manufacturer, rec.model) if part)
    return f"{maker or rec.server} firmware"


class MediaRecorded(MaxAgeDays):
    """DR-010: media locations confirmed within 180 days."""

    max_age_days: int = Field(default=180, gt=0, le=3650)


@check_kind("media_recorded_for_installed_versions", MediaRecorded)
def media_recorded_for_installed_versions(facts: Facts, params: ParamsFor[MediaRecorded]
                                          ) -> Iterator[Verdict]:
    """Each installed product version has a media record whose location was checked recently."""
    p = params(ESTATE_SCOPE)
    estate = installed_versions(facts)
    media = facts.records.media
    for item in estate.installed.values():
        subject = _subject(SubjectType.PRODUCT, f"{item.name} {item.version}")
        observed = {"installed_on": sorted(set(item.where))}
        if isinstance(media, Unknown):
            yield _verdict(subject, Status.ERROR, media.reason, observed,
                           ids=item.ids + list(media.evidence_ids))
            continue
        yield _media_verdict(facts, subject, item, media.value, p, observed,
                             item.ids + list(media.evidence_ids))
    if estate.gaps:
        yield _verdict(ESTATE, Status.ERROR, "installed versions could not be observed for "
                       f"{_listed(estate.gaps, '; ')}", {"not_observed": estate.gaps},
                       "every installed product version observed", estate.gap_ids)


def _media_verdict(facts: Facts, subject: Subject, item: _Installed,
                   media: tuple[MediaRecord, ...], p: MediaRecorded, observed: dict[str, Any],
                   ids: list[str]) -> Verdict:
    expected = f"a media record for this version, checked within {p.max_age_days} d"
    named = [m for m in media if names_match(m.product, item.name)]
    found = [m for m in named if version_key(m.version) == version_key(item.version)]
    if not found:
        others = sorted({m.version for m in named})
        note = f"; recorded versions: {_listed(others)}" if others else ""
        return _verdict(subject, Status.FAIL, f"no media record for {item.name} {item.version} "
                        f"(installed on {_listed(sorted(set(item.where)))}){note}", observed,
                        expected, ids)
    future = future_date(facts, "the media were checked on", [m.checked for m in found], ids)
    if future:
        return _verdict(subject, Status.FAIL, future, observed, expected, ids)
    best = max(found, key=lambda m: m.checked)
    age = age_days(facts, best.checked)
    observed = {**observed, "media_location": best.media_location,
                "checked": best.checked.isoformat(), "age_days": age}
    if age > p.max_age_days:
        return _verdict(subject, Status.FAIL, f"media at {best.media_location} last checked "
                        f"{age} d ago, over the {p.max_age_days} d limit", observed, expected, ids)
    return _verdict(subject, Status.PASS, f"media at {best.media_location}, checked {age} d ago",
                    observed, expected, ids)


# --- DR-020 ---------------------------------------------------------------------------------

class HardwareSoftwareCurrent(MaxAgeDays):
    """DR-020: records reviewed within 365 days."""


@check_kind("hardware_software_records_current", HardwareSoftwareCurrent)
def hardware_software_records_current(facts: Facts, params: ParamsFor[HardwareSoftwareCurrent]
                                      ) -> Iterator[Verdict]:
    """Each inventory server has a recently reviewed record that matches what the server reports."""
    records = facts.records.hardware_software
    by_server = ({normal(r.server): r for r in records.value} if isinstance(records, Known)
                 else {})
    for server in facts.inventory.servers:
        subject, scope = server_subject(facts.inventory, server.fqdn)
        p = params(scope)
        if isinstance(records, Unknown):
            yield _verdict(subject, Status.ERROR, records.reason, ids=records.evidence_ids)
            continue
        rec = by_server.get(normal(server.fqdn))
        expected = f"a record reviewed within {p.max_age_days} d that matches the server"
        ids = list(records.evidence_ids)
        if rec is None:
            yield _verdict(subject, Status.FAIL, "no hardware and software record for this "
                           "server", None, expected, ids)
            continue
        yield _hardware_verdict(facts, subject, rec, p, expected, ids)


def _hardware_verdict(facts: Facts, subject: Subject, rec: HardwareSoftwareRecord,
                      p: HardwareSoftwareCurrent, expected: str, ids: list[str]) -> Verdict:
    age = age_days(facts, rec.reviewed)
    observed: dict[str, Any] = {"reviewed": rec.reviewed.isoformat(), "age_days": age}
    future = future_date(facts, "the record was reviewed on", [rec.reviewed], ids)
    if future:
        return _verdict(subject, Status.FAIL, future, observed, expected, ids)
    problems = [] if age <= p.max_age_days else [
        f"record last reviewed {age} d ago, over the {p.max_age_days} d limit"]
    report = facts.lync.servers.get(normal(subject.name),
                                    Unknown(f"no server_inventory evidence for {subject.name}"))
    if isinstance(report, Unknown):
        ids += report.evidence_ids
        if problems:
            return _verdict(subject, Status.FAIL, f"{problems[0]} (and the server's own report "
                            f"is unavailable: {report.reason})", observed, expected, ids)
        return _verdict(subject, Status.ERROR, "cannot compare the record with the server: "
                        f"{report.reason}", observed, expected, ids)
    ids += report.evidence_ids
    mismatches, unassessable = compare_record(rec, report.value)
    problems += mismatches
    observed["mismatches"] = mismatches
    if problems:
        return _verdict(subject, Status.FAIL, "; ".join(problems), observed, expected, ids)
    if unassessable:
        return _verdict(subject, Status.ERROR, "the server did not report its "
                        f"{', '.join(unassessable)}, so the record cannot be compared",
                        observed, expected, ids)
    return _verdict(subject, Status.PASS, f"record reviewed {age} d ago matches the server",
                    observed, expected, ids)


def compare_record(rec: HardwareSoftwareRecord, inv: ServerInventory
                   ) -> tuple[list[str], list[str]]:
    """(mismatches, fields the server did not report) between a record and the server."""
    bad: list[str] = []
    unknown: list[str] = []

    def check(field_name: str, recorded: str | None, reported: str | None, same: bool,
              required: bool) -> None:
        if reported is None:
            if recorded is not None:
                unknown.append(field_name)
        elif recorded is None:
            if required:
                bad.append(f"{field_name} not recorded (server reports {reported!r})")
        elif not same:
            bad.append(f"{field_name} recorded as {recorded!r}, server reports {reported!r}")

    maker, model = inv.manufacturer, inv.model
    check("manufacturer", rec.manufacturer, maker,
          bool(rec.manufacturer and maker and normal(rec.manufacturer) == normal(maker)), False)
    models = {normal(model), normal(f"{maker or ''} {model}")} if model else set()
    check("model", rec.model, model, bool(rec.model and normal(rec.model) in models), True)
    check("OS", rec.os, inv.os_caption,
          bool(rec.os and inv.os_caption and names_match(rec.os, inv.os_caption)), False)
    check("OS version", rec.os_version, inv.os_version, bool(
        rec.os_version and inv.os_version
        and version_key(rec.os_version) == version_key(inv.os_version)), True)
    lync = [p.version for p in inv.products if "lync" in p.name.lower()]
    newest = max(lync, key=_version_order) if lync else None
    if newest is None and rec.lync_version is not None:
        bad.append(f"Lync version recorded as {rec.lync_version!r}, but the server reports no "
                   "Lync Server product")
    else:
        check("Lync version", rec.lync_version, newest, bool(
            rec.lync_version and newest and version_key(rec.lync_version) == version_key(newest)),
            True)
    return bad, unknown


KINDS: tuple[CheckKind[Any], ...] = (
    media_recorded_for_installed_versions,
    hardware_software_records_current,
)
