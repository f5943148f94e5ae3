"""Which databases each Lync store kind holds, in the order an inventory lists them."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.facts.topology import ROLE_STORES
from auditor.inventory import InstanceRole
from auditor.stores import REQUIRED_STORES

ORDER = ("xds", "lis", "rtcxds", "rtcshared", "rgsconfig", "rtcdyn", "rtcab", "rgsdyn",
         "cpsdyn", "LcsCDR", "QoEMetrics", "LcsLog", "mgc", "mgccomp", "rtc", "lyss")
"""Every Lync database, as SQL Server spells it (domain-reference.md 1.1)."""
SPELLING = {name.lower(): name for name in ORDER}
LOCAL_INSTANCES = {"rtclocal": ("xds", "rtc", "rtcdyn"), "lyss": ("lyss",)}
"""The SQL Express instances of every Front End Server and the databases they hold."""
ROLE_OF_SERVICE = {
    "UserDatabase": InstanceRole.BACK_END,
    "CentralManagementDatabase": InstanceRole.BACK_END,
    "ApplicationDatabase": InstanceRole.BACK_END,
    "MonitoringDatabase": InstanceRole.MONITORING,
    "ArchivingDatabase": InstanceRole.ARCHIVING,
    "PersistentChatDatabase": InstanceRole.PERSISTENT_CHAT,
    "PersistentChatComplianceDatabase": InstanceRole.PERSISTENT_CHAT,
}


def instance_role(service: str) -> InstanceRole:
    """The inventory role of an instance holding this database service."""
    return ROLE_OF_SERVICE.get(service, InstanceRole.BACK_END)


def ordered(names: Iterable[str]) -> list[str]:
    """Store names in ORDER, spelt as SQL Server does; unknown names last, as given."""
    wanted = {n.lower(): n for n in names}
    known = [SPELLING[k] for k in (n.lower() for n in ORDER) if k in wanted]
    return known + sorted(n for k, n in wanted.items() if k not in SPELLING)


def role_stores(services: Iterable[str]) -> list[str]:
    """Every database the services' store kinds hold."""
    return ordered(s for service in services for s in ROLE_STORES.get(service, ()))


def required(name: str) -> bool:
    """Whether a store holds data that must be backed up (not a transient one)."""
    return name.lower() in REQUIRED_STORES


def confirmed_stores(expected: Iterable[str], present: Iterable[str]) -> tuple[list[str],
                                                                                 list[str]]:
    """(stores to list, transient stores left out): a required store is listed even when the
    instance lacks it (the audit then reports it missing); a transient store only when the
    instance has it. Names as the instance spells them."""
    on_instance = {p.lower(): p for p in present}
    listed, left_out = [], []
    for name in expected:
        if name.lower() in on_instance:
            listed.append(on_instance[name.lower()])
        elif required(name):
            listed.append(name)
        else:
            left_out.append(name)
    return listed, left_out
