"""Lync dates without an offset, and the offset they are read with.

Remoting writes a .NET DateTime with its Kind: Utc (`Z`), Local (`+hh:mm`) or Unspecified (no
zone; clixml keeps it naive). Get-CsManagementStoreReplicationStatus reads LastStatusReport and
LastUpdateCreation from the Central Management store, a SQL Server database, and a DateTime read
from SQL Server comes back with Kind Unspecified. Such a value is read here on one documented
assumption (docs/time.md, "Lync dates without an offset"): it is the local time of the SQL
Server instance that holds the Central Management store (xds), whose UTC offset that instance's
clock probe (server_time) read in the same collection. When that offset is unknown, the date is
not guessed: the fact is Unknown and says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TypeVar

from auditor.canonical import JsonValue
from auditor.facts.base import BadValueError, Fact, Known, Unknown, as_ps_datetime
from auditor.facts.sql_types import InstanceFacts
from auditor.inventory import InstanceRole

CMS_STORE = "xds"
# The front end's local xds is a replica, a mirror or a restore test is not the store itself.
_CMS_ROLES = (InstanceRole.BACK_END,)
Row = Mapping[str, JsonValue]
T = TypeVar("T")


def cms_clock_offset(instances: Iterable[InstanceFacts]) -> Fact[dt.timedelta]:
    """The UTC offset of the SQL instance holding the Central Management store, as its clock
    probe read it; Unknown (with why) when no such instance or no clock."""
    for facts in instances:
        inst = facts.instance
        if inst.role in _CMS_ROLES and CMS_STORE in {s.lower() for s in inst.stores}:
            clock = facts.clock
            if isinstance(clock, Unknown):
                return Unknown(f"the clock of {inst.server_name}, which holds the Central "
                               f"Management store, is unknown: {clock.reason}",
                               clock.evidence_ids)
            return Known(clock.value.utc_offset, clock.evidence_ids)
    return Unknown("the inventory lists no back-end SQL instance holding the Central "
                   "Management store (xds)")


def _naive(value: JsonValue) -> bool:
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if not isinstance(value, str):
        return False
    try:
        return dt.datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


class NaiveDates:
    """Reads dates that may lack an offset, and remembers whether one did (the offset's
    evidence then joins the fact's)."""

    def __init__(self, offset: Fact[dt.timedelta]) -> None:
        self.offset = offset
        self.used = False

    def read(self, row: Row, name: str) -> dt.datetime | None:
        """The date in UTC: as it is when it has an offset, else at the assumed offset."""
        value = row.get(name)
        if not _naive(value):
            return as_ps_datetime(row, name)
        if isinstance(self.offset, Unknown):
            raise BadValueError(name, value, "without a UTC offset (DateTime Kind "
                                "Unspecified), and the offset assumed for it, that of the "
                                f"Central Management store's SQL Server, is unknown: "
                                f"{self.offset.reason}", problem=True)
        self.used = True
        return as_ps_datetime(row, name, self.offset.value)

    def joined(self, fact: Fact[T]) -> Fact[T]:
        """The fact, with the clock's evidence when a naive date was read with its offset."""
        if self.used and isinstance(fact, Known) and isinstance(self.offset, Known):
            return Known(fact.value, fact.evidence_ids + self.offset.evidence_ids)
        return fact
