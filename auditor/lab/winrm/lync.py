"""The Lync side of the lab: answers the catalogue's cmdlets and scripts from a demo estate.

A pipeline is recognised by its first command: a catalogue cmdlet (matched by name and by the
set of parameters it got) or a catalogue script (matched by the SHA-256 of its exact text; any
other script is refused, as a constrained endpoint would). The answer comes from the recorded
observation of the same probe and target in the estate's evidence bundle, turned back into typed
objects (shapes.py); probes a bundle lacks (cs_pools, cs_computers, cms_status) are built from
the inventory. Faults are set per probe, or per `probe@target`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.discover.commands import own_probes
from auditor.evidence import EvidenceBundle, ObservationStatus, read_bundle
from auditor.facts.lync import share_paths
from auditor.inventory import Inventory, load_inventory
from auditor.lab.timeshift import delta_to, shift_bundle
from auditor.lab.winrm.backup_sync import BackupSync
from auditor.lab.winrm.exports import ExportShare
from auditor.lab.winrm.lync_access import SCRIPT_CMDLETS, LyncAccess, database_services
from auditor.lab.winrm.objects import Complex, string_array, to_psobject
from auditor.lab.winrm.shapes import SHAPES, shape
from auditor.lab.winrm.topology import INVENTORY_PROBES, topology_rows
from auditor.lab.winrm.wsman import CommandCall, ErrorSpec, Invocation, Reply
from auditor.probes.catalogue import HERE as PROBES_DIR
from auditor.probes.catalogue import PsProbe, Scope, load_catalogue

PERMISSION_DENIED = 18  # ErrorCategory.PermissionDenied
OBJECT_NOT_FOUND = 13
INVALID_ARGUMENT = 5
COMMON_PARAMETERS = {"erroraction", "warningaction", "verbose", "debug"}
IDENTITY_SCRIPT = "audit_identity.ps1"


@dataclass
class LyncFaults:
    """Faults by probe name or `probe@target` (target as the inventory spells it)."""

    hang: set[str] = field(default_factory=set)
    error: dict[str, str] = field(default_factory=dict)
    soft_error: dict[str, str] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    malformed: set[str] = field(default_factory=set)
    drop: set[str] = field(default_factory=set)
    missing_cmdlets: set[str] = field(default_factory=set)

    @staticmethod
    def matches(keys: Iterable[str], probe: str, target: str) -> bool:
        """Whether a fault set names this probe, or this probe on this target."""
        wanted = {probe.lower(), f"{probe}@{target}".lower()}
        return any(k.lower() in wanted for k in keys)


@dataclass(frozen=True)
class Received:
    """What a probe's command got: the probe it was taken for, its target and arguments."""

    probe: str
    target: str
    command: str
    parameters: dict[str, Any]


class _RefusedError(Exception):
    def __init__(self, spec: ErrorSpec) -> None:
        super().__init__(spec.message)
        self.spec = spec


class LyncLab:
    """A handler for WsmanServer standing in for the Lync Management Shell of one estate."""

    def __init__(self, inventory: Inventory, bundle: EvidenceBundle | None, *,
                 local_offset: dt.timedelta = dt.timedelta(hours=10),
                 groups: Iterable[str] = ("BUILTIN\\Administrators",),
                 topology_from_inventory: bool = False, naive_dates: bool = False) -> None:
        self.inventory = inventory
        self.topology_from_inventory = topology_from_inventory
        self.local_offset = local_offset
        self.groups = list(groups)
        self.naive_dates = naive_dates  # Local dates written without their offset (shapes.py)
        self.faults = LyncFaults()
        self.access = LyncAccess()
        self.exports: ExportShare | None = None  # set to answer Export-Cs* (remediation)
        self.backup_sync = BackupSync(p.fqdn for p in inventory.pools)  # Invoke-CsBackupServiceSync
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._recorded = {o.id.lower(): o for o in (bundle.observations if bundle else [])
                          if o.source.value == "lync"}
        catalogue = load_catalogue()
        self.probes = {p.name: p for p in catalogue.powershell}
        self._discovery = {p.name: p for p in own_probes()}  # auditor discover's cmdlets
        self.probes.update(self._discovery)
        self._scripts = {_digest(p.script_text() or ""): p for p in catalogue.powershell
                         if p.script}
        identity = (PROBES_DIR / "ps" / IDENTITY_SCRIPT).read_text(encoding="utf-8")
        self._scripts[_digest(identity)] = PsProbe(
            name="audit_identity", scope=Scope.SERVER, purpose="preflight",
            script=IDENTITY_SCRIPT, select=["UserName", "Groups"], rbac="none")

    @classmethod
    def from_estate(cls, folder: Path, present: dt.datetime | None = None,
                    **kwargs: Any) -> LyncLab:
        """The lab of a demo estate folder (inventory.yaml and evidence.json); with `present`,
        its recorded answers moved so that they were recorded then (auditor.lab.timeshift)."""
        loaded = load_inventory(folder / "inventory.yaml")
        bundle_path = folder / "evidence.json"
        bundle = read_bundle(bundle_path)[0] if bundle_path.exists() else None
        if bundle is not None and present is not None:
            bundle = shift_bundle(bundle, delta_to(bundle.collected_at, present))
        return cls(loaded.inventory, bundle, **kwargs)

    # --- the handler ----------------------------------------------------------------------
    def __call__(self, invocation: Invocation) -> Reply:
        try:
            return self._answer(invocation)
        except _HangError:
            return Reply(hang=True)
        except _RefusedError as refused:
            return Reply(failure=refused.spec)

    def _answer(self, invocation: Invocation) -> Reply:
        reply = Reply()
        for statement in _statements(invocation.commands):
            part = self._statement(invocation, statement)
            reply.outputs += part.outputs
            reply.errors += part.errors
            if part.failure or part.hang or part.malformed or part.drop:
                part.outputs = reply.outputs if not part.drop else []
                return part
        return reply

    def _statement(self, invocation: Invocation, commands: list[CommandCall]) -> Reply:
        first, rest = commands[0], tuple(commands[1:])
        params = _named(first.parameters)
        if not first.is_script and first.name.lower() == "test-path":
            return Reply(outputs=[self._test_path(params)])
        if not first.is_script and first.name.lower() == "get-command":
            return self._get_command(params)
        if not first.is_script and first.name.lower() == "import-module":
            with self._lock:
                return self.access.import_module(invocation.shell_id, params)
        if not first.is_script and first.name.lower() == "get-item":
            return self.access.get_item(params, share_paths(self.inventory))
        if not first.is_script and self.exports is not None and self.exports.handles(first.name):
            with self._lock:
                self.received.append(Received(first.name, "deployment", first.name, params))
                return self.exports.export(first.name, params)
        if not first.is_script and self.backup_sync.handles(first.name):
            with self._lock:
                self.received.append(Received(first.name, "deployment", first.name, params))
                return self.backup_sync.sync(params)
        probe = self._identify(first.name, first.is_script, params)
        target = self._target(probe, params)
        with self._lock:
            self.received.append(Received(probe.name, target, first.name, params))
        expand = self._expansion(rest)
        faulted = self._fault(probe.name, target) or self._refused(probe, target)
        if faulted is not None:
            return faulted
        if probe.name == "audit_identity":
            objects = [Complex(SHAPES["audit_identity"][0], {
                "UserName": invocation.user, "Groups": string_array(self.groups)})]
        else:
            objects = self._objects(probe, target)
        if expand is not None:
            objects = _expand(objects, expand)
        return Reply(outputs=[to_psobject(o) for o in objects])

    def _identify(self, name: str, is_script: bool, params: Mapping[str, Any]) -> PsProbe:
        if is_script:
            probe = self._scripts.get(_digest(name))
            if probe is None:
                raise _RefusedError(ErrorSpec(
                    "This lab endpoint runs only the auditor's constant probe scripts.",
                    PERMISSION_DENIED, "ScriptsNotAllowed",
                    "System.Management.Automation.PSSecurityException"))
            return probe
        given = {k.lower() for k in params} - COMMON_PARAMETERS
        for probe in self.probes.values():
            if (probe.command or "").lower() == name.lower() and given == {
                    k.lower() for k in probe.parameters}:
                if name.lower() in {c.lower() for c in self.faults.missing_cmdlets}:
                    break
                return probe
        raise _RefusedError(_not_found(name))

    def _target(self, probe: PsProbe, params: Mapping[str, Any]) -> str:
        if probe.scope is Scope.DEPLOYMENT:
            return "deployment"
        key = {Scope.POOL: "poolfqdn", Scope.SHARE: "path", Scope.SERVER: "computername"}
        wanted = key.get(probe.scope)
        for name, value in params.items():
            if name.lower() == wanted:
                return str(value)
        if probe.name == "audit_identity":
            return "identity"
        raise _RefusedError(ErrorSpec(f"Cannot bind the mandatory parameter of {probe.name}.",
                                      INVALID_ARGUMENT, "ParameterBindingException"))

    def _expansion(self, rest: tuple[Any, ...]) -> str | None:
        expand = None
        for command in rest:
            params = _named(command.parameters)
            if command.name.lower() != "select-object" or set(map(str.lower, params)) != {
                    "expandproperty"}:
                raise _RefusedError(ErrorSpec(
                    f"This lab endpoint does not run {command.name} in a probe pipeline.",
                    PERMISSION_DENIED, "CommandNotAllowed"))
            expand = str(next(iter(params.values())))
        return expand

    def _fault(self, probe: str, target: str) -> Reply | None:
        f = self.faults
        if f.matches(f.drop, probe, target):
            return Reply(drop=True)
        if f.matches(f.hang, probe, target):
            return Reply(hang=True)
        if f.matches(f.denied, probe, target):
            return Reply(failure=_denied(target))
        for key, message in f.error.items():
            if f.matches([key], probe, target):
                return Reply(failure=ErrorSpec(message, 0, "LabInjectedError"))
        for key, message in f.soft_error.items():
            if f.matches([key], probe, target):
                return Reply(errors=[ErrorSpec(message, 0, "LabInjectedError")])
        if f.matches(f.malformed, probe, target):
            return Reply(malformed=True)
        return None

    def _refused(self, probe: PsProbe, target: str) -> Reply | None:
        cmdlet = probe.command or SCRIPT_CMDLETS.get(probe.name, "")
        refusal = self.access.refusal(cmdlet, self.groups)
        if refusal is not None:
            return Reply(failure=refusal)
        if probe.scope is Scope.SHARE and self.access.hop_refused(target):
            return Reply(failure=_denied(target))
        return None

    # --- answers ----------------------------------------------------------------------------
    def _objects(self, probe: PsProbe, target: str) -> list[Complex]:
        if probe.name in self._discovery or (self.topology_from_inventory
                                             and probe.name in INVENTORY_PROBES):
            rows = topology_rows(self.inventory, probe.name, target)
            if rows is not None:
                return [shape(probe.name, r, self.local_offset) for r in rows]
        obs = self._recorded.get(f"lync:{probe.name}:{target}".lower())
        if probe.name == "config_exports" and self.exports is not None:
            rows = [*(obs.data if obs is not None and obs.ok else []), *self.exports.listing()]
            return [shape(probe.name, r, self.local_offset) for r in rows]
        if obs is None:
            rows = self._synthesised(probe.name)
            if rows is None:
                raise _RefusedError(ErrorSpec(
                    f"The lab has no recorded answer for {probe.name} on {target}.", 0,
                    "NoRecordedAnswer"))
            return [shape(probe.name, r, self.local_offset, self.naive_dates) for r in rows]
        if obs.status is ObservationStatus.TIMEOUT:
            raise _HangError
        if obs.status is ObservationStatus.DENIED:
            raise _RefusedError(_denied(target))
        if obs.status is not ObservationStatus.OK:
            raise _RefusedError(ErrorSpec(obs.error or f"{probe.name} failed", 0,
                                          f"Recorded{obs.status.value.title()}"))
        rows = self.backup_sync.answer(probe.name, target, obs.data)
        return [shape(probe.name, r, self.local_offset, self.naive_dates) for r in rows]

    def _synthesised(self, probe: str) -> list[dict[str, Any]] | None:
        inv = self.inventory
        if probe == "cs_pools":
            return [{"Identity": p.fqdn, "Fqdn": p.fqdn, "Site": f"Site:{p.site}",
                     "Services": [f"Registrar:{p.fqdn}", f"UserServer:{p.fqdn}",
                                  f"WebServer:{p.fqdn}"],
                     "Computers": [s.fqdn for s in inv.servers if s.pool == p.fqdn]}
                    for p in inv.pools]
        if probe == "cs_computers":
            return [{"Identity": s.fqdn, "Pool": s.pool or s.fqdn, "Fqdn": s.fqdn}
                    for s in inv.servers]
        if probe == "cms_status":
            cms = [i.pool for i in inv.sql_instances
                   if i.pool and "xds" in {s.lower() for s in i.stores}]
            master = cms[0] if cms else (inv.pools[0].fqdn if inv.pools else None)
            replicas = self._recorded.get("lync:cms_replication:deployment")
            names = [r.get("ReplicaFqdn") for r in replicas.data] if replicas else []
            return [{"ActiveMasterFqdn": master, "ActiveFileTransferAgents": [master],
                     "ActiveReplicas": names, "DeletedReplicas": []}]
        if probe == "file_stores":
            return []
        if probe == "database_services":
            return database_services(inv)
        return None

    def _test_path(self, params: Mapping[str, Any]) -> bool:
        path = str(next((v for k, v in params.items() if k.lower() in ("literalpath", "path")),
                        ""))
        return path.lower() in {s.lower() for s in share_paths(self.inventory)}

    def _get_command(self, params: Mapping[str, Any]) -> Reply:
        name = str(next(iter(params.values()), ""))
        known = {(p.command or "").lower() for p in self.probes.values()} - {""}
        missing = {c.lower() for c in self.faults.missing_cmdlets}
        if name.lower() not in known or name.lower() in missing:
            return Reply(failure=_not_found(name))
        info = Complex(("System.Management.Automation.CmdletInfo",
                        "System.Management.Automation.CommandInfo", "System.Object"),
                       {"Name": name, "ModuleName": "Lync"}, name)
        return Reply(outputs=[to_psobject(info)])


class _HangError(_RefusedError):
    def __init__(self) -> None:
        super().__init__(ErrorSpec("hang"))


def _statements(commands: tuple[CommandCall, ...]) -> list[list[CommandCall]]:
    """The pipeline's statements (`a | b; c`)."""
    out: list[list[CommandCall]] = [[]]
    for command in commands:
        out[-1].append(command)
        if command.end_of_statement:
            out.append([])
    return [s for s in out if s]


def _expand(objects: list[Complex], name: str) -> list[Complex]:
    """Select-Object -ExpandProperty: the items of one property, each an output object."""
    out: list[Complex] = []
    for obj in objects:
        value = next((v for k, v in obj.props.items() if k.lower() == name.lower()), None)
        items = getattr(value, "items", [value] if value is not None else [])
        out.extend(i for i in items if isinstance(i, Complex))
    return out


def _named(parameters: Iterable[tuple[str | None, Any]]) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for name, value in parameters:
        if name is None:
            raise _RefusedError(ErrorSpec("Positional arguments are not accepted by this lab.",
                                          INVALID_ARGUMENT, "PositionalParameterNotFound"))
        named[name] = _plain(value)
    return named


def _plain(value: Any) -> Any:
    """psrpcore's PSString/PSInt/... as plain Python values, for the record of arguments."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _not_found(name: str) -> ErrorSpec:
    return ErrorSpec(f"The term '{name}' is not recognized as the name of a cmdlet, function, "
                     "script file, or operable program.", OBJECT_NOT_FOUND,
                     "CommandNotFoundException",
                     "System.Management.Automation.CommandNotFoundException")


def _denied(target: str) -> ErrorSpec:
    return ErrorSpec(f"Access to the path '{target}' is denied.", PERMISSION_DENIED,
                     "UnauthorizedAccessException", "System.UnauthorizedAccessException")
