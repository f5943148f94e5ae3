"""Which PowerShell probe runs on which Lync target, with which parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.facts.lync import share_paths
from auditor.inventory import LoadedInventory
from auditor.probes.catalogue import Catalogue, PsProbe, Scope

SWITCH = "switch"
"""A catalogue parameter whose value is `switch` is passed as a constant switch."""


@dataclass(frozen=True)
class Task:
    """One probe on one target, with the parameters it is given."""

    probe: PsProbe
    target: str
    parameters: dict[str, Any]
    problem: str | None = None


# --- plan -----------------------------------------------------------------------------------

def plan(loaded: LoadedInventory, catalogue: Catalogue) -> tuple[list[Task], dict[str, list[Task]]]:
    """(management tasks, server tasks by server FQDN) for every probe and target."""
    inv = loaded.inventory
    management: list[Task] = []
    servers: dict[str, list[Task]] = {s.fqdn: [] for s in inv.servers}
    for probe in catalogue.powershell:
        if probe.scope is Scope.DEPLOYMENT:
            values: dict[str, Any] = {}
            if inv.export_share is not None:
                values["export_share.unc"] = inv.export_share.unc
            management.append(_task(probe, "deployment", values))
        elif probe.scope is Scope.POOL:
            management.extend(_task(probe, p.fqdn, {"pool.fqdn": p.fqdn}) for p in inv.pools)
        elif probe.scope is Scope.SHARE:
            management.extend(_task(probe, s, {"share.unc": s}) for s in share_paths(inv))
        elif probe.scope is Scope.SERVER:
            for server in inv.servers:
                servers[server.fqdn].append(_task(probe, server.fqdn,
                                                  {"server.fqdn": server.fqdn}))
    return management, servers


def _task(probe: PsProbe, target: str, values: Mapping[str, Any]) -> Task:
    params: dict[str, Any] = {}
    for name, source in probe.parameters.items():
        if source == SWITCH:
            params[name] = True
        elif source in values:
            params[name] = values[source]
        else:
            return Task(probe, target, params, f"not run: the inventory gives no {source}")
    return Task(probe, target, params)
