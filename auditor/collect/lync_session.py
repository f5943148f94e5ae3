"""One Lync server's probe pipelines, over the shared WinRM session of auditor.connect.winrm."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.collect.clixml import Row, _with_nested, rows_of
from auditor.collect.lync_plan import Task
from auditor.connect.winrm import Session as WinrmSession
from auditor.connect.winrm import parse_connect_to
from auditor.connect.winrm_transport import Failure, _FailedError, scrub, transport_failure

__all__ = ["NESTED", "Session", "parse_connect_to"]

NESTED = {"backup_service_status": "BackupModules", "server_inventory": "Products"}
"""Properties holding objects. Remoting serialises output at depth 1, so these would arrive as
their ToString() strings; the probe's pipeline also reads them with
`... | Select-Object -ExpandProperty <name>` (a second statement of the same invocation)."""


@dataclass
class Session(WinrmSession):
    """A WinRM session that runs the catalogue's probes (auditor.connect.winrm has the rest)."""

    scripts: dict[str, str] = field(default_factory=dict)
    modules: dict[str, Failure | None] = field(default_factory=dict)
    """Modules imported into the open runspace (None) or whose import failed (why)."""

    def open(self) -> Failure | None:
        """Open the runspace; modules are imported again into each new one."""
        self.modules = {}
        return super().open()

    def run(self, task: Task) -> list[Row] | Failure:
        """The probe's rows, or the Failure; after a lost connection one reconnect."""
        reopened = self.reopen_once()
        if reopened is not None:
            return reopened
        probe = task.probe
        if probe.module:
            refused = self.ensure_module(probe.module)
            if refused is not None:
                return refused
        nested = NESTED.get(probe.name)
        nested = nested if nested in probe.select else None
        label = probe.command or probe.script or probe.name
        try:
            outputs = self.call(self._builder(task, nested), label)
            if nested is None:
                return rows_of(outputs, probe.select)
            return _with_nested(outputs, probe.select, nested)
        except _FailedError as err:
            failure = err.failure
        except Exception as exc:  # noqa: BLE001
            failure = transport_failure(exc, self.where, opening=False)
            if failure.connection_lost:
                self.close()
        return Failure(failure.status, scrub(failure.message, self.secret),
                       failure.connection_lost)

    def ensure_module(self, name: str) -> Failure | None:
        """Import a module once into this runspace, explicitly: module autoloading is not
        something a remoting session can rely on. The Failure (kept for the later probes of
        the same session) when the import fails."""
        if name in self.modules:
            return self.modules[name]

        def build(ps: Any) -> None:
            ps.add_cmdlet("Import-Module").add_parameter("Name", name)
            ps.add_parameter("ErrorAction", "Stop")

        try:
            self.call(build, f"Import-Module {name}")
            failure = None
        except _FailedError as err:
            failure = Failure(err.failure.status, f"{err.failure.message} (is the {name} "
                              "module, the Lync Server Management Shell, installed on this "
                              "server?)")
        except Exception as exc:  # noqa: BLE001
            found = transport_failure(exc, self.where, opening=False)
            failure = Failure(found.status, scrub(found.message, self.secret),
                              found.connection_lost)
            if found.connection_lost:
                self.close()
                return failure
        self.modules[name] = failure
        return failure

    def _builder(self, task: Task, nested: str | None) -> Callable[[Any], None]:
        """The probe's pipeline. With a nested property, two statements in one invocation:
        the command, then the command again with `| Select-Object -ExpandProperty <name>`."""
        probe = task.probe

        def add(ps: Any) -> None:
            if probe.command:
                ps.add_cmdlet(probe.command)
                for name, value in task.parameters.items():
                    ps.add_parameter(name, value)
                ps.add_parameter("ErrorAction", "Stop")
            else:
                if probe.name not in self.scripts:
                    self.scripts[probe.name] = probe.script_text() or ""
                ps.add_script(self.scripts[probe.name])
                for name, value in task.parameters.items():
                    ps.add_parameter(name, value)

        def build(ps: Any) -> None:
            add(ps)
            if nested:
                ps.add_statement()
                add(ps)
                ps.add_cmdlet("Select-Object").add_parameter("ExpandProperty", nested)

        return build
