"""Observations -> typed, frozen facts. Pure: the same bundle gives the same facts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from auditor.evidence import EvidenceBundle
from auditor.facts.base import Fact, Known, Unknown, index
from auditor.facts.clock import AuditClock
from auditor.facts.lync import LyncFacts, derive_lync
from auditor.facts.lync_dates import cms_clock_offset
from auditor.facts.records import RecordsFacts, derive_records
from auditor.facts.sql import InstanceFacts, derive_instance
from auditor.inventory import Inventory

__all__ = ["AuditClock", "Fact", "Facts", "InstanceFacts", "Known", "LyncFacts", "RecordsFacts",
           "Unknown", "derive_facts"]


@dataclass(frozen=True)
class Facts:
    """Everything evaluation may look at: the inventory, the moment, and the evidence."""

    inventory: Inventory
    now: dt.datetime
    clock: AuditClock
    instances: tuple[InstanceFacts, ...]
    lync: LyncFacts
    records: RecordsFacts


def derive_facts(bundle: EvidenceBundle, inventory: Inventory, now: dt.datetime) -> Facts:
    """Parse every observation the inventory's targets should have."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    observations = index(bundle)
    instances = tuple(derive_instance(observations, inst) for inst in inventory.sql_instances)
    return Facts(inventory=inventory, now=now, clock=AuditClock.of(bundle, now),
                 instances=instances,
                 lync=derive_lync(observations, inventory, cms_clock_offset(instances)),
                 records=derive_records(observations))
