"""The check-kind registry, built from an explicit list of modules (no import side effects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.checks import (
    acl,
    backups,
    damage,
    exports,
    fullbackup,
    integrity,
    logchain,
    lync,
    placement,
    records,
    restore,
    schedule,
    space,
    storage,
    versions,
)
from auditor.engine.registry import CheckKind, build_registry

_MODULES = (fullbackup, backups, logchain, schedule, integrity, damage, storage, space, restore,
            placement, lync, exports, acl, records, versions)


def check_kinds() -> Mapping[str, CheckKind[Any]]:
    """Every built-in check kind by name."""
    return build_registry(kind for module in _MODULES for kind in module.KINDS)
