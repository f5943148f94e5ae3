"""Checks on the Lync exports: configuration exports (BR-010) and the other Lync exports
(BR-011)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field

from auditor.checks.lync import ESTATE, _verdict, span, when
from auditor.checks.subjects import share_subject
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, Unknown
from auditor.facts.lync import ExportFile, Replica
from auditor.findings import Status, Subject, Verdict, worst

CONFIG_ENTRY = "docitemset.xml"


def matches(name: str, patterns: Sequence[str]) -> bool:
    """A file name matches one of the glob patterns, ignoring case (as Windows does)."""
    return any(fnmatchcase(name.lower(), p.lower()) for p in patterns)


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
    valid = [f for f in candidates if is_config_export(f)]
    change = _last_cms_change(replicas.value)
    observed: dict[str, Any] = {"last_cms_change": change[0].isoformat() if change else None,
                                "not_valid_exports": invalid}
    future = (facts.clock.future("a configuration export was written", [f.modified_at for f in
                                                                        valid],
                                 exports.evidence_ids)
              or facts.clock.future("the CMS last changed", [change[0] if change else None],
                                    replicas.evidence_ids))
    if future is not None:
        return _verdict(subject, Status.FAIL, future.text, observed, expected, ids)
    notes = ""
    if invalid:
        notes += (f"; {len(invalid)} matching file(s) are not valid exports (no DocItemSet.xml "
                  f"or not a readable ZIP): {', '.join(invalid[:5])}")
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
        future = facts.clock.future(f"a {label} was written", [f.modified_at for f in found],
                                    exports.evidence_ids)
        if future is not None:
            statuses.append(Status.FAIL)
            bad.append(future.text)
            observed[key] = {"status": "fail", "future_time": future.moment.isoformat()}
            continue
        usable = [f for f in found if _usable(f)]
        broken = [f.name for f in found if not _usable(f)]
        why = f" ({len(broken)} unreadable or empty ZIP ignored)" if broken else ""
        if not usable:
            statuses.append(Status.FAIL)
            bad.append(f"no {label} matching {', '.join(patterns)}{why}")
            observed[key] = {"status": "fail", "newest": None}
            continue
        newest = max(usable, key=lambda f: f.modified_at)
        age = facts.clock.age(newest.modified_at)
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


KINDS: tuple[CheckKind[Any], ...] = (config_export_after_change, lync_exports_fresh)
