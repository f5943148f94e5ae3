"""P7 restore testing: a real restore of each required store, or a recorded drill, is recent.

Fail closed, for this rule, means: never pass without positive evidence of a test. A qualifying
restore found on any readable instance, or a succeeded drill record, is that evidence, and an
unreadable instance cannot take it away. Without it the verdict is `error` (could not assess)
while any audited instance's restore history could not be read, since the missing test may be
recorded there; the message names those instances. Only when every history was read is the
absence of a test a `fail`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from auditor.checks.subjects import (
    LyncDatabase,
    backup_gate,
    lync_databases,
    never_backed_up,
    server_clock_future,
)
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, InstanceFacts, Known
from auditor.facts.sql import Restore
from auditor.findings import Status, Verdict
from auditor.inventory import InstanceRole
from auditor.records import RestoreDrillRecord


class RestoreTestedParams(Params):
    """BR-060: a restore test of the database within max_age_days."""

    max_age_days: float = Field(default=90, gt=0, le=3650)


@dataclass(frozen=True)
class _Test:
    """A piece of evidence that a restore was tested: when, where and what."""

    when: dt.datetime
    text: str


@dataclass(frozen=True)
class _Histories:
    """Every instance's restores, and which instances could not be read."""

    restores: tuple[tuple[InstanceFacts, Restore], ...]
    readable: int
    unreadable: tuple[str, ...]
    reasons: tuple[str, ...]
    evidence_ids: tuple[str, ...]


def _histories(facts: Facts) -> _Histories:
    restores: list[tuple[InstanceFacts, Restore]] = []
    unreadable: list[str] = []
    reasons: list[str] = []
    ids: list[str] = []
    for inst in facts.instances:
        fact = inst.restores
        ids.extend(fact.evidence_ids)
        if isinstance(fact, Known):
            restores.extend((inst, r) for r in fact.value)
            continue
        reasons.append(fact.reason)
        if inst.instance.role is not InstanceRole.FRONT_END_LOCAL:  # never a restore target
            unreadable.append(inst.instance.server_name)
    readable = len(facts.instances) - len(reasons)
    return _Histories(tuple(restores), readable, tuple(unreadable), tuple(reasons), tuple(ids))


@check_kind("restore_tested_within", RestoreTestedParams)
def restore_tested_within(facts: Facts, params: ParamsFor[RestoreTestedParams]
                          ) -> Iterator[Verdict]:
    """Each required store was restored (elsewhere, with recovery) or drilled recently."""
    histories = _histories(facts)
    for db in lync_databases(facts):
        gate = backup_gate(db) or never_backed_up(db) or _future(facts, db, histories)
        yield gate or _restore_verdict(facts, db, histories, params(db.scope))


def _future(facts: Facts, db: LyncDatabase, histories: _Histories) -> Verdict | None:
    """fail when a restore of this database, or a drill record of it, lies in the future."""
    clock = facts.clock
    source = db.facts.instance.server_name.lower()
    mine = [(inst, r) for inst, r in histories.restores
            if (r.source_database_name or "").lower() == db.name.lower()
            and (r.source_server_name or "").lower() == source]
    found = next((f for inst, r in mine if (f := server_clock_future(inst, clock) or clock.future(
        f"a restore on {inst.instance.server_name} ran", [r.restored_at],
        inst.restores.evidence_ids))), None)
    text = found.text if found else None
    drills = facts.records.restore_drills
    if text is None and isinstance(drills, Known):
        late = clock.future_date("a restore drill is dated", [
            r.date for r in drills.value
            if r.instance.lower() == source and r.database.lower() == db.name.lower()],
            drills.evidence_ids)
        text = late.text if late else None
    if text is None:
        return None
    return db.verdict(Status.FAIL, text, evidence_ids=histories.evidence_ids)


def _why_not(inst: InstanceFacts, r: Restore, db: LyncDatabase) -> str | None:
    """None when the restore is a test of `db`; else why it is not."""
    if r.restore_type == "V":
        return "RESTORE VERIFYONLY"
    if r.restore_type != "D":
        return f"restore type {r.restore_type} (not a database restore)"
    if not r.recovery:
        return "WITH NORECOVERY (for example, mirror seeding)"
    same_instance = inst.instance.server_name.lower() == db.facts.instance.server_name.lower()
    if same_instance and r.destination_database_name.lower() == db.name.lower():
        return "over the production database itself"
    return None


def _restore_tests(db: LyncDatabase, histories: _Histories,
                   since: dt.datetime) -> tuple[list[_Test], list[str]]:
    """Qualifying restores of `db` in the window, and why other restores of it did not count."""
    source = db.facts.instance.server_name.lower()
    tests, rejected = [], []
    for inst, r in histories.restores:
        if (r.source_database_name or "").lower() != db.name.lower() \
                or (r.source_server_name or "").lower() != source:
            continue
        if r.restored_at < since:
            continue
        reason = _why_not(inst, r, db)
        where = f"{r.destination_database_name} on {inst.instance.server_name}"
        if reason is None:
            tests.append(_Test(r.restored_at, f"restored as {where}"))
        else:
            rejected.append(f"{where}: {reason}")
    return tests, rejected


def _drills(facts: Facts, db: LyncDatabase, since: dt.datetime
            ) -> tuple[list[_Test], list[RestoreDrillRecord], tuple[str, ...]]:
    """Succeeded drills of `db` in the window, every drill record of `db`, and their ids."""
    fact = facts.records.restore_drills
    if not isinstance(fact, Known):
        return [], [], ()
    mine = [r for r in fact.value if r.instance.lower() == db.facts.instance.server_name.lower()
            and r.database.lower() == db.name.lower()]
    tests = []
    for record in mine:
        when = dt.datetime.combine(record.date, dt.time(), tzinfo=dt.UTC)
        if record.succeeded and since.date() <= record.date:
            target = f" to {record.restored_to}" if record.restored_to else ""
            tests.append(_Test(when, f"restore drill{target} recorded on {record.date}"))
    return tests, mine, fact.evidence_ids


def _restore_verdict(facts: Facts, db: LyncDatabase, histories: _Histories,
                     p: RestoreTestedParams) -> Verdict:
    expected = (f"a restore WITH RECOVERY to another name or instance, or a recorded drill, "
                f"within {p.max_age_days:g} d")
    since = facts.now - dt.timedelta(days=p.max_age_days)
    tests, rejected = _restore_tests(db, histories, since)
    drills, records, drill_ids = _drills(facts, db, since)
    ids = histories.evidence_ids + drill_ids
    tests += drills
    observed: dict[str, Any] = {"unreadable_instances": list(histories.unreadable)}
    if tests:
        newest = max(tests, key=lambda t: t.when)
        age = facts.clock.age(newest.when).days
        observed["last_test"] = newest.when.isoformat()
        return db.verdict(Status.PASS, f"last restore test {age} d ago: {newest.text}",
                          observed, expected, ids)
    if histories.unreadable or not histories.readable:
        why = "; ".join(dict.fromkeys(histories.reasons)) or "no SQL instance in the inventory"
        drill_fact = facts.records.restore_drills
        if not isinstance(drill_fact, Known):
            why += f"; {drill_fact.reason}"
            ids += drill_fact.evidence_ids
        if histories.readable:
            why = f"restore history unreadable on {', '.join(histories.unreadable)}: {why}"
        return db.verdict(Status.ERROR, f"no restore test found, and not every restore history "
                          f"could be read ({why})", observed, expected, ids)
    parts = [f"no restore test in the last {p.max_age_days:g} d"]
    if rejected:
        parts.append(f"restores that are not tests: {'; '.join(rejected[:3])}")
    if records:
        last = max(records, key=lambda r: r.date)
        outcome = "succeeded" if last.succeeded else "failed"
        parts.append(f"last recorded drill {last.date} ({outcome})")
    return db.verdict(Status.FAIL, "; ".join(parts), observed, expected, ids)


KINDS: tuple[CheckKind[Any], ...] = (restore_tested_within,)
