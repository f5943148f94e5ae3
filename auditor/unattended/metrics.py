"""A Prometheus textfile (node_exporter's textfile collector) of one audit.

Times are written as `..._timestamp_seconds`, never as ages: an age in a file would stop growing
when audits stop, and an alert on `time() - metric` must fire between audits. The file is written
by prometheus_client's write_to_textfile, which writes a temporary file and renames it, so a
scrape or a kill never sees half of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from auditor.facts import Facts, InstanceFacts, Known
from auditor.findings import Severity, Status
from auditor.results import Results

BACKUP_KINDS = {"D": "full", "L": "log"}


@dataclass(frozen=True)
class AuditRun:
    """One audit as metrics see it: its results, its facts and when it ran."""

    results: Results
    facts: Facts
    started: dt.datetime
    finished: dt.datetime


def write_metrics(run: AuditRun, path: Path) -> None:
    """Write the audit's metrics to `path` atomically."""
    write_to_textfile(str(path), registry_of(run))


def registry_of(run: AuditRun) -> CollectorRegistry:
    """Every metric of one audit in a fresh registry (no process-wide state)."""
    registry = CollectorRegistry()
    estate = run.results.estate_id or run.results.estate
    _scores(registry, run.results, estate)
    _findings(registry, run.results, estate)
    _timing(registry, run, estate)
    _backups(registry, run.facts.instances, estate)
    return registry


def _scores(registry: CollectorRegistry, results: Results, estate: str) -> None:
    score = Gauge("auditor_score_percent", "Audit score (0-100), with waivers applied",
                  ["estate"], registry=registry)
    unwaived = Gauge("auditor_score_without_waivers_percent", "Audit score without waivers",
                     ["estate"], registry=registry)
    coverage = Gauge("auditor_coverage_percent", "Share of applicable findings assessed",
                     ["estate"], registry=registry)
    practice = Gauge("auditor_practice_score_percent", "Score of one practice",
                     ["estate", "practice"], registry=registry)
    practice_cov = Gauge("auditor_practice_coverage_percent", "Coverage of one practice",
                         ["estate", "practice"], registry=registry)
    _set(score, (estate,), results.overall.score)
    _set(unwaived, (estate,), results.overall.score_without_waivers)
    _set(coverage, (estate,), results.overall.coverage)
    for summary in results.by_practice:
        _set(practice, (estate, summary.id), summary.score.score)
        _set(practice_cov, (estate, summary.id), summary.score.coverage)


def _set(gauge: Gauge, labels: tuple[str, ...], value: float | None) -> None:
    """A score with nothing applicable has no value: leave the series out rather than say 0."""
    if value is not None:
        gauge.labels(*labels).set(value)


def _findings(registry: CollectorRegistry, results: Results, estate: str) -> None:
    gauge = Gauge("auditor_findings", "Findings by status and rule severity",
                  ["estate", "status", "severity"], registry=registry)
    counts = {(status, severity): 0 for status in Status for severity in Severity}
    for finding in results.findings:
        counts[(finding.status, finding.severity)] += 1
    for (status, severity), count in counts.items():
        gauge.labels(estate, status.value, severity.value).set(count)


def _timing(registry: CollectorRegistry, run: AuditRun, estate: str) -> None:
    last = Gauge("auditor_last_audit_timestamp_seconds", "When the audit finished",
                 ["estate"], registry=registry)
    collected = Gauge("auditor_evidence_collected_timestamp_seconds",
                      "When the audit's evidence was collected", ["estate"], registry=registry)
    duration = Gauge("auditor_audit_duration_seconds", "How long the audit took",
                     ["estate"], registry=registry)
    last.labels(estate).set(run.finished.timestamp())
    collected.labels(estate).set(run.results.collected_at.timestamp())
    duration.labels(estate).set((run.finished - run.started).total_seconds())


def _backups(registry: CollectorRegistry, instances: tuple[InstanceFacts, ...],
             estate: str) -> None:
    gauges = {kind: Gauge(f"auditor_backup_last_{kind}_finish_timestamp_seconds",
                          f"Finish time of the database's newest {kind} backup in msdb",
                          ["estate", "instance", "database"], registry=registry)
              for kind in BACKUP_KINDS.values()}
    for facts in instances:
        if not isinstance(facts.last_backups, Known):
            continue
        for (database, type_code), last in sorted(facts.last_backups.value.items()):
            kind = BACKUP_KINDS.get(type_code)
            if kind is not None:
                labels = (estate, facts.instance.server_name, last.database_name or database)
                gauges[kind].labels(*labels).set(last.finished_at.timestamp())
