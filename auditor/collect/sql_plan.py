"""Which catalogue probes run on one instance, and with what: by role, dialect, the server's
version and build (read by the clock probe), and parameters taken from the server's clock."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from auditor.inventory import SqlInstance
from auditor.probes.catalogue import Catalogue, Dialect, SqlProbe

CDR_USAGE_DAYS = 28  # the LcsCDR usage window (tools/demo/builder.py uses the same)


def major_version(product_version: object) -> int | None:
    """'11.0.6020.0' -> 11."""
    match = re.match(r"\s*(\d+)\.", str(product_version or ""))
    return int(match.group(1)) if match else None


def build_of(product_version: object) -> tuple[int, ...] | None:
    """'10.50.1600.1' -> (10, 50, 1600, 1); None when it is not a dotted version."""
    text = str(product_version or "").strip()
    if not re.fullmatch(r"\d+(\.\d+)*", text):
        return None
    return tuple(int(part) for part in text.split("."))


def applies(probe: SqlProbe, inst: SqlInstance, dialect: Dialect | None,
            major: int | None) -> bool:
    """Whether the probe is for this instance; dialect None: only probes every dialect has."""
    if probe.roles is not None and inst.role.value not in probe.roles:
        return False
    if dialect is None:
        return probe.min_major_version is None and all(probe.text(d) for d in Dialect)
    if probe.text(dialect) is None:
        return False
    return probe.min_major_version is None or (
        major is not None and major >= probe.min_major_version)


def too_old(probe: SqlProbe, clock: dict[str, Any] | None) -> str | None:
    """Why the probe is not run on this server's build, or None (also when the build is
    unknown: the probe then runs and its own result says what happened)."""
    if probe.min_build is None or clock is None:
        return None
    build, wanted = build_of(clock.get("product_version")), build_of(probe.min_build)
    if build is None or wanted is None or build >= wanted:
        return None
    level = clock.get("product_level")
    shown = f"{clock.get('product_version')}" + (f" ({level})" if level else "")
    return (f"not run: {probe.min_build_reason or 'this probe needs a later build'} (build "
            f"{probe.min_build}); this server is {shown}: install that service pack or a "
            "later one")


def usable_clock(row: dict[str, Any] | None) -> bool:
    """The server_time row gave both times as datetimes."""
    return row is not None and all(isinstance(row.get(k), dt.datetime)
                                   for k in ("local_now", "utc_now"))


def clock_problem(row: dict[str, Any] | None, status: str) -> str:
    """Why the probes bound to the server clock were not run."""
    if row is not None and any(isinstance(row.get(k), str) for k in ("local_now", "utc_now")):
        return ("not run: its parameters come from the server clock, which the driver returned "
                "as text: FreeTDS below TDS 7.3 returns datetime2 (SYSDATETIME()) that way; set "
                "`tds version = 7.3` in the freetds.conf section or TDS_Version=7.3 in the "
                "connection string")
    return (f"not run: its parameters come from the server clock, and server_time ended {status} "
            "or gave no usable local_now/utc_now")


def bind(probe: SqlProbe, clock: dict[str, Any], catalogue: Catalogue) -> list[Any]:
    """The probe's parameters, from the server's own clock (never the collector's)."""
    local_now = clock["local_now"].replace(microsecond=0)
    utc_now = clock["utc_now"].replace(microsecond=0)
    since = local_now - dt.timedelta(days=catalogue.history_days)
    known: dict[str, Any] = {
        "since_local": since,
        "restore_since_local": local_now - dt.timedelta(days=catalogue.restore_history_days),
        "since_yyyymmdd": int(since.strftime("%Y%m%d")),
        "usage_since_utc": utc_now - dt.timedelta(days=CDR_USAGE_DAYS),
    }
    missing = [name for name in probe.parameters if name not in known]
    if missing:
        raise KeyError(f"probe {probe.name} wants unknown parameter {missing[0]}")
    return [known[name] for name in probe.parameters]
