"""What each probe's command returns on a real Lync Server 2013 front end, as typed objects.

Each recorded row (a ConvertTo-Json row of a demo bundle) is turned back into the object the
command or constant script would have written: the .NET type names of the Lync cmdlets
(Microsoft.Rtc.Management.*; see docs/lync-collection.md for which are confirmed), Int64,
Boolean and DateTime properties, System.String[] collections, and the [pscustomobject]s of the
scripts. A recorded value that does not fit its type is passed on as it is, so that a demo's
deliberately bad evidence stays bad.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from auditor.discover.commands import DATABASE_ROLES
from auditor.lab.winrm.objects import (
    PS_CUSTOM,
    Complex,
    EnumValue,
    flags_to_string,
    int64,
    net_datetime,
    object_array,
    parse_recorded_date,
    string_array,
)

Kind = str
# (type names, ((property, kind), ...)); kinds: str bool i64 dt (Local) dtutc strs identity
# rights acltype enum:<type> objs:<shape>
SHAPES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, Kind], ...]]] = {
    "cms_replication": (("Microsoft.Rtc.Management.Xds.ReplicaState", "System.Object"), (
        ("ReplicaFqdn", "str"), ("UpToDate", "bool"), ("LastStatusReport", "dt"),
        ("LastUpdateCreation", "dt"), ("ProductVersion", "str"))),
    "cms_status": (("Microsoft.Rtc.Management.Xds.CentralManagementStoreStatusResult",
                    "System.Object"), (
        ("ActiveMasterFqdn", "str"), ("ActiveFileTransferAgents", "strs"),
        ("ActiveReplicas", "strs"), ("DeletedReplicas", "strs"))),
    "pool_backup_relationship": (
        ("Microsoft.Rtc.Management.Hadr.BackupService.BackupRelation", "System.Object"), (
            ("PoolFqdn", "str"), ("BackupPoolFqdn", "str"))),
    "backup_service_status": (
        ("Microsoft.Rtc.Management.Hadr.BackupService.BackupServiceStatus", "System.Object"), (
            ("PoolFqdn", "str"),
            ("OverallExportStatus", "enum:Microsoft.Rtc.Management.Hadr.ExportStatus"),
            ("OverallImportStatus", "enum:Microsoft.Rtc.Management.Hadr.ImportStatus"),
            ("BackupModules", "objs:backup_module"))),
    "backup_module": (
        ("Microsoft.Rtc.Management.Hadr.BackupService.BackupModuleStatus", "System.Object"), (
            ("Identity", "str"),
            ("ExportStatus", "enum:Microsoft.Rtc.Management.Hadr.ExportStatus"),
            ("ImportStatus", "enum:Microsoft.Rtc.Management.Hadr.ImportStatus"))),
    "config_exports": (PS_CUSTOM, (
        ("Name", "str"), ("FullName", "str"), ("Length", "i64"), ("LastWriteTimeUtc", "dtutc"),
        ("IsZip", "bool"), ("Entries", "strs"))),
    "share_acl": (PS_CUSTOM, (
        ("IdentityReference", "identity"), ("FileSystemRights", "rights"),
        ("AccessControlType", "acltype"), ("IsInherited", "bool"))),
    "share_space": (PS_CUSTOM, (("Path", "str"), ("FreeBytes", "i64"), ("TotalBytes", "i64"))),
    "share_files": (PS_CUSTOM, (
        ("FullName", "str"), ("Length", "i64"), ("LastWriteTimeUtc", "dtutc"))),
    "server_inventory": (PS_CUSTOM, (
        ("ComputerName", "str"), ("Manufacturer", "str"), ("Model", "str"),
        ("OsCaption", "str"), ("OsVersion", "str"), ("Products", "objs:product"))),
    "product": (PS_CUSTOM, (("Name", "str"), ("Version", "str"))),
    "database_services": (PS_CUSTOM, (
        ("Identity", "str"), ("Role", "str"), ("PoolFqdn", "str"), ("SqlInstanceName", "str"),
        ("MirrorSqlServer", "str"))),
    "cs_pools": (("Microsoft.Rtc.Management.Deploy.Internal.Cluster", "System.Object"), (
        ("Identity", "str"), ("Fqdn", "str"), ("Site", "str"), ("Services", "strs"),
        ("Computers", "strs"))),
    "cs_computers": (("Microsoft.Rtc.Management.Deploy.Internal.Machine", "System.Object"), (
        ("Identity", "str"), ("Pool", "str"), ("Fqdn", "str"))),
    "file_stores": (("Microsoft.Rtc.Management.Xds.DisplayFileStore", "System.Object"), (
        ("Identity", "str"), ("UncPath", "str"), ("PoolFqdn", "str"), ("SiteId", "str"),
        ("DependentServiceList", "strs"))),
    "audit_identity": (PS_CUSTOM, (("UserName", "str"), ("Groups", "strs"))),
}

# auditor discover's cmdlets (Get-CsSite; Get-CsService with one database switch per call)
SHAPES["cs_sites"] = (("Microsoft.Rtc.Management.Deploy.Internal.Site+CentralSite",
                       "System.Object"), (
    ("Identity", "str"), ("DisplayName", "str"), ("Description", "str"), ("SiteType", "str")))
SHAPES.update({f"cs_{role}": ((f"Microsoft.Rtc.Management.Xds.Display{role}", "System.Object"), (
    ("Identity", "str"), ("Role", "str"), ("PoolFqdn", "str"), ("SqlInstanceName", "str"),
    ("MirrorSqlServer", "str"), ("MirrorSqlInstanceName", "str"),
    ("DependentServiceList", "strs"), ("SiteId", "str"))) for role in DATABASE_ROLES})

_ENUM_VALUES = {"NotInitialized": 0, "SteadyState": 1, "NonSteadyState": 2, "FinalState": 3,
                "ErrorState": 4, "NormalState": 1}


def shape(probe: str, row: Mapping[str, Any], local_offset: dt.timedelta,
          naive_local: bool = False) -> Complex:
    """The object a probe's command writes for one recorded row. With `naive_local`, the
    Local dates (kind dt) are written as the same wall-clock time with Kind Unspecified (no
    offset), as a DateTime read from SQL Server is."""
    type_names, props = SHAPES[probe]
    lowered = {k.lower(): v for k, v in row.items()}
    values = {name: _convert("dtnaive" if naive_local and kind == "dt" else kind,
                             lowered.get(name.lower()), local_offset)
              for name, kind in props}
    to_string = None if type_names == PS_CUSTOM else type_names[0]
    return Complex(type_names, values, to_string)


def _convert(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    if value is None and not kind.startswith(("strs", "objs")):
        return None
    converter = _CONVERTERS.get(kind.split(":", 1)[0])
    if converter is None:
        raise KeyError(f"unknown kind {kind}")
    try:
        return converter(kind, value, offset)
    except (TypeError, ValueError):
        return value  # keep bad evidence bad: the collector and the facts must catch it


def _str(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    if isinstance(value, str):
        return value
    raise ValueError(value)


def _bool(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    if isinstance(value, bool):
        return value
    raise ValueError(value)


def _i64(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return int64(value)
    raise ValueError(value)


def _dt(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    stamp = parse_recorded_date(value)
    if stamp is None:
        raise ValueError(value)
    return net_datetime(stamp, None if kind == "dtutc" else offset)


def _dt_naive(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    stamp = parse_recorded_date(value)
    if stamp is None:
        raise ValueError(value)
    local = stamp.astimezone(dt.timezone(offset)) if stamp.tzinfo else stamp
    return net_datetime(local.replace(tzinfo=None), None)


def _strs(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    items = _as_list(value)
    if any(isinstance(v, dict | list) for v in items):
        raise ValueError(value)
    return string_array(items)


def _identity(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    if isinstance(value, dict) and isinstance(value.get("Value"), str):
        return value["Value"]
    if isinstance(value, str):
        return value
    raise ValueError(value)


def _rights(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return flags_to_string(value)
    if isinstance(value, str):
        return value
    raise ValueError(value)


def _acltype(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    return {0: "Allow", 1: "Deny"}.get(value, value) if not isinstance(value, bool) else value


def _enum(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    if isinstance(value, str):
        return EnumValue(kind.split(":", 1)[1], value, _ENUM_VALUES.get(value, 0))
    raise ValueError(value)


def _objs(kind: Kind, value: Any, offset: dt.timedelta) -> Any:
    nested = kind.split(":", 1)[1]
    items = []
    for item in _as_list(value):
        if not isinstance(item, dict):
            raise ValueError(item)
        items.append(shape(nested, item, offset))
    return object_array(items)


def _as_list(value: Any) -> list[Any]:
    """ConvertTo-Json wrote one item without its array, and PS 5.1 a {value, Count} wrapper."""
    if value is None:
        return []
    if isinstance(value, dict) and set(value) == {"value", "Count"}:
        value = value["value"]
    return list(value) if isinstance(value, list) else [value]


_CONVERTERS: dict[str, Callable[[Kind, Any, dt.timedelta], Any]] = {
    "str": _str, "bool": _bool, "i64": _i64, "dt": _dt, "dtutc": _dt, "dtnaive": _dt_naive,
    "strs": _strs,
    "identity": _identity, "rights": _rights, "acltype": _acltype, "enum": _enum,
    "objs": _objs,
}
