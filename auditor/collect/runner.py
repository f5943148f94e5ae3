"""Runs the collectors and writes one evidence bundle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from auditor import __version__
from auditor.collect.base import CollectContext, Collector
from auditor.evidence import EvidenceBundle, Observation


def collect(context: CollectContext, collectors: Sequence[Collector],
            rulepack_version: str) -> EvidenceBundle:
    """Every collector's observations in one bundle; a later duplicate id replaces an earlier."""
    observations: dict[str, Observation] = {}
    for collector in collectors:
        for obs in collector.collect(context):
            observations[obs.id] = obs
    inventory = context.inventory
    return EvidenceBundle(
        tool_version=__version__, rulepack_version=rulepack_version,
        estate=inventory.inventory.estate.name, inventory_sha256=inventory.sha256,
        collected_at=context.started_at.astimezone(dt.UTC),
        collectors=[c.name for c in collectors],
        observations=sorted(observations.values(), key=lambda o: o.id))
