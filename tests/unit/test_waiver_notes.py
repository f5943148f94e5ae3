"""A waiver that covers nothing says why (results.json, the report's waivers table): above all
a waiver on `instance:` for BR-061 or DR-030 once the fail it covered moved to the instance's
databases (checksums and damaged backups are judged per Lync store)."""

from __future__ import annotations

import datetime as dt

from auditor.checks import check_kinds
from auditor.engine.evaluate import evaluate
from auditor.engine.waivers import Waiver
from auditor.facts import derive_facts
from auditor.report import build_view, render_html
from auditor.report.model import ReportView
from auditor.results import Results, WaiverStatus, build_results
from tests.casekit import case_bundle, case_inventory, load_cases, rule_pack

GENERATED = dt.datetime(2026, 11, 25, 12, 30, tzinfo=dt.UTC)
# SQL01's backup job is healthy (instance passes); lis's full of the 24th has no CHECKSUM.
CASE = next(c for c in load_cases() if c.name == "full_without_checksum_fails_old_one_ignored")


def _waiver(subject: str) -> Waiver:
    return Waiver(rule="BR-061", subject=subject, reason="Checksums come with the new plan",
                  approver="A. Approver", expires=dt.date(2027, 1, 31))


def _results(waivers: tuple[Waiver, ...]) -> tuple[Results, ReportView]:
    now = dt.datetime.fromisoformat(CASE.raw["now"])
    inventory = case_inventory(CASE)
    bundle = case_bundle(CASE, now)
    facts = derive_facts(bundle, inventory.inventory, now)
    findings = evaluate(facts, rule_pack(), check_kinds(), inventory, waivers, only=["BR-061"])
    results = build_results(findings=findings, pack=rule_pack(), waivers=waivers, estate="cases",
                            now=now, collected_at=now, bundle_sha256="0" * 64,
                            inventory_sha256="0" * 64)
    return results, build_view(results, rule_pack(), inventory.inventory, bundle, GENERATED)


def _status(results: Results, subject: str) -> WaiverStatus:
    return next(w for w in results.waivers if w.subject == subject)


def test_instance_waiver_names_the_databases_it_no_longer_reaches() -> None:
    results, view = _results((_waiver("instance:SQL01\\RTC"), _waiver("instance:SQL09\\RTC")))
    lis = next(f for f in results.findings if f.subject.id == "database:SQL01\\RTC/lis")
    assert lis.status.value == "fail"
    moved = _status(results, "instance:SQL01\\RTC")
    assert (moved.matched, moved.applied) == (True, False)
    assert moved.note == ("BR-061 judges part of this instance per database, and a waiver on the "
                          "instance does not reach them: database:SQL01\\RTC/lis fail or warn; "
                          "waive each by its database: subject")
    gone = _status(results, "instance:SQL09\\RTC")
    assert (gone.matched, gone.applied) == (False, False)
    assert gone.note is not None
    assert gone.note.startswith("no BR-061 finding is about instance:SQL09\\RTC")
    html = render_html(view)
    assert "a waiver on the instance does not reach them: database:SQL01\\RTC/lis" in html
    assert "this waiver covers nothing" in html


def test_a_waiver_that_applies_has_no_note() -> None:
    results, _ = _results((_waiver("database:SQL01\\RTC/lis"),))
    applied = _status(results, "database:SQL01\\RTC/lis")
    assert applied.applied
    assert applied.note is None
