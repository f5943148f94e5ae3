"""Planning the Lync configuration export (BR-010): Export-CsConfiguration on the first
management server, straight to the inventory's export share, under a dated name.

The export is written to the share directly rather than to the server and copied: copying
needs the same second hop (a remote session reaching a UNC path) and a file left on the server
does not fix BR-010. The second hop needs the session's credential to be delegable (CredSSP or
Kerberos delegation to the share's host); the plan says so, and without it the export is
denied and reported on the action.
"""

from __future__ import annotations

from auditor.findings import Finding
from auditor.inventory import Inventory
from auditor.remediate.catalogue import Action, ActionKind, Dialect
from auditor.remediate.model import PlannedAction, Statement
from auditor.remediate.selection import action_id, ref

EXPORT_NAME = "CsConfiguration-{run}.zip"  # {run}: the apply run's id, which starts with its date
ESTIMATED_SECONDS = 60
DEADLINE_SECONDS = 300


def is_powershell(action: PlannedAction) -> bool:
    """Whether apply runs this action in a Lync session rather than on a SQL instance."""
    return action.method == "powershell"


def template(cmdlet: str, parameters: list[str], switches: list[str] | None = None) -> str:
    """How the plan shows a cmdlet call: the values are sent apart, with add_parameter."""
    return " ".join([cmdlet, *(f"-{s}" for s in switches or []),
                     *(f"-{p} ${p}" for p in parameters), "-ErrorAction Stop"])


def export_action(inventory: Inventory, action: Action, finding: Finding) -> PlannedAction | str:
    """The planned export for a BR-010 finding on the export share, or why there is none."""
    if action.kind is not ActionKind.POWERSHELL or not action.steps:
        return f"{action.name} is not a PowerShell action"
    if inventory.lync is None:
        return "the inventory has no lync: section (management_servers) to run the export on"
    if inventory.export_share is None:
        return "the inventory names no export_share to write the export to"
    share = inventory.export_share.unc.rstrip("\\")
    host = inventory.lync.management_servers[0]
    step = action.steps[0]
    values = {"FileName": f"{share}\\{EXPORT_NAME}"}
    finding_ref = ref(finding)
    return PlannedAction(
        id=action_id(finding.rule_id, finding.subject.id, action.name), action=action.name,
        method="powershell", instance=host, database="", subject=finding.subject.id,
        dialect=Dialect.TSQL, fixes=[finding_ref],
        statements=[Statement(name=step.statement, text=template(step.statement, step.parameters),
                              parameters={p: values[p] for p in step.parameters})],
        destination=share, full_backup=False, estimated_seconds=ESTIMATED_SECONDS,
        deadline_seconds=DEADLINE_SECONDS, impact=action.impact, risk=action.risk,
        notes=[f"runs in the Lync Management Shell on {host} over PowerShell remoting and "
               f"writes {share}\\{EXPORT_NAME} directly: a second hop, so the remediation "
               "credential must be delegable to the share (CredSSP or Kerberos delegation); "
               "without it the export is denied and reported, nothing is copied"])
