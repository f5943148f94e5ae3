"""The Lync Server 2013 SQL stores: their databases, how rules.md classes each database, and the
store kinds Topology Builder shows, each expanded to its databases (docs/inventory.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

REQUIRED_STORES = frozenset({"xds", "lis", "rtcxds", "rtcshared", "rgsconfig", "lcscdr",
                             "qoemetrics", "lcslog", "mgc"})
TRANSIENT_STORES = frozenset({"rtcdyn", "rtcab", "cpsdyn", "rgsdyn", "mgccomp"})
LOCAL_STORES = frozenset({"rtc", "lyss"})
KNOWN_STORES = REQUIRED_STORES | TRANSIENT_STORES | LOCAL_STORES

# The inventory's spelling of each database (msdb compares names case-insensitively).
_SPELLING = {"lcscdr": "LcsCDR", "qoemetrics": "QoEMetrics", "lcslog": "LcsLog"}


@dataclass(frozen=True)
class StoreKind:
    """A store as Topology Builder names it, the Get-CsService role that reports it, and the
    databases it holds (domain-reference.md section 1.1)."""

    name: str
    service: str
    databases: tuple[str, ...]


STORE_KINDS: tuple[StoreKind, ...] = (
    StoreKind("Central Management", "CentralManagementDatabase", ("xds", "lis")),
    StoreKind("User", "UserDatabase", ("rtcxds", "rtcshared", "rtcab")),
    StoreKind("Application", "ApplicationDatabase", ("rgsconfig", "rgsdyn", "cpsdyn")),
    StoreKind("Monitoring", "MonitoringDatabase", ("LcsCDR", "QoEMetrics")),
    StoreKind("Archiving", "ArchivingDatabase", ("LcsLog",)),
    StoreKind("Persistent Chat", "PersistentChatDatabase", ("mgc",)),
    StoreKind("Persistent Chat Compliance", "PersistentChatComplianceDatabase", ("mgccomp",)),
)


def _kind_key(name: str) -> str:
    """'Central Management store' and 'central management' both give 'central management'."""
    words = name.lower().split()
    return " ".join(words[:-1] if len(words) > 1 and words[-1] == "store" else words)


_BY_KIND = {_kind_key(k.name): k for k in STORE_KINDS}


def store_kind(name: str) -> StoreKind | None:
    """The store kind a name spells (any case, with or without a trailing 'store')."""
    return _BY_KIND.get(_kind_key(name))


def accepted_store_names() -> str:
    """The names `stores:` takes, for error messages."""
    kinds = ", ".join(k.name for k in STORE_KINDS)
    databases = ", ".join(sorted(_SPELLING.get(s, s) for s in KNOWN_STORES))
    return f"a store kind ({kinds}) or a database name ({databases})"


def unknown_store(name: str) -> str | None:
    """Why `name` is not accepted in `stores:`, or None when it is."""
    if name.lower() in KNOWN_STORES or store_kind(name) is not None:
        return None
    return f"unknown Lync store {name!r}: give {accepted_store_names()}; see docs/inventory.md"


def expand_stores(names: Iterable[str]) -> list[str]:
    """Database names for a `stores:` list: each kind replaced by its databases, each database
    once (the first spelling kept), in the order written."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        kind = store_kind(name) if name.lower() not in KNOWN_STORES else None
        for database in kind.databases if kind else (name,):
            if database.lower() not in seen:
                seen.add(database.lower())
                out.append(database)
    return out
