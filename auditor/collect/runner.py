"""Runs the collectors and writes one evidence bundle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from auditor import __version__
from auditor.collect.base import CollectContext, Collector
from auditor.collect.replay import ReplayCollector
from auditor.evidence import EvidenceBundle, Observation, Origin, SourceEvidence, source_evidence


def collect(context: CollectContext, collectors: Sequence[Collector], rulepack_version: str,
            collected_at: dt.datetime | None = None) -> EvidenceBundle:
    """Every collector's observations in one bundle; a later duplicate id replaces an earlier
    (a live observation replaces its replayed copy). `collected_at` (the evaluation's default
    `now`) defaults to the context's start."""
    observations: dict[str, Observation] = {}
    origin: dict[str, Collector] = {}
    for collector in collectors:
        for obs in collector.collect(context):
            observations[obs.id] = obs
            origin[obs.id] = collector
    inventory = context.inventory
    return EvidenceBundle(
        tool_version=__version__, rulepack_version=rulepack_version,
        estate=inventory.inventory.estate.name, estate_id=inventory.inventory.estate.id,
        inventory_sha256=inventory.sha256, sources=_sources(observations, origin),
        collected_at=(collected_at or context.started_at).astimezone(dt.UTC),
        collectors=[c.name for c in collectors],
        observations=sorted(observations.values(), key=lambda o: o.id))


def _sources(observations: dict[str, Observation],
             origin: dict[str, Collector]) -> list[SourceEvidence]:
    """Each source's evidence times, live and replayed apart."""
    live = [o for i, o in observations.items() if not isinstance(origin[i], ReplayCollector)]
    found = source_evidence(live, Origin.LIVE)
    for collector in dict.fromkeys(origin.values()):
        if isinstance(collector, ReplayCollector):
            replayed = [o for i, o in observations.items() if origin[i] is collector]
            found += source_evidence(replayed, Origin.REPLAY, collector.bundle.collected_at)
    return found
