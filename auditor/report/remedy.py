"""Remediation in the estate's own names.

A rule's remediation text is written for any estate, with example paths (`\\\\backup01\\sql`) and
placeholders (`<export share>`, `<pool>`). The report fills them from the inventory (the backup
destination of the site at fault, the export share) and from the findings (the one pool, share
or server at fault), and gives each failed finding its concrete step from the remediation
catalogue and, when an automated action exists, the `auditor remediate plan` command for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.findings import Finding, Status, SubjectType
from auditor.inventory import Inventory
from auditor.remediate.catalogue import Catalogue, default_catalogue

FIXABLE = (Status.FAIL, Status.WARN)
# the example destination of the rule texts, and the placeholder of a backup share
_DESTINATION = re.compile(r"\\\\backup01(?:\.contoso\.com)?\\sql|\\\\<backup share>")
_EXPORT_SHARE = re.compile(r"(?:\\\\)?<export share>")
_POOL = re.compile(r"<pool FQDN>|<pool>")
_SHARE = re.compile(r'\\\\<host>\\<share>')
_SERVER = re.compile(r"<fqdn>")
PLAN_COMMAND = ("auditor remediate plan results.json --bundle evidence.json --inventory "
                "INVENTORY --out plan.json")


@dataclass(frozen=True)
class Remedy:
    """What to do about one finding: the concrete step, and the command that plans it."""

    step: str
    command: str


def _quoted(text: str) -> str:
    """A shell argument in single quotes (a subject id holds backslashes)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _only(values: Sequence[str | None]) -> str | None:
    """The one value every finding at fault shares, or None."""
    found = {v for v in values if v}
    return found.pop() if len(found) == 1 else None


class _Names(dict[str, str]):
    """Placeholders of a catalogue step; an unknown one stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Remedies:
    """Fills remediation texts for one estate."""

    def __init__(self, inventory: Inventory, catalogue: Catalogue | None = None) -> None:
        self.inventory = inventory
        self.catalogue = catalogue or default_catalogue()

    def _destination(self, at_fault: Sequence[Finding]) -> str | None:
        """The backup destination of the site at fault (or the estate's only one)."""
        dests = self.inventory.backup_destinations
        sites = {f.subject.site or self.inventory.site_of_pool(f.subject.pool)
                 for f in at_fault} - {None}
        same = [d for d in dests if d.site in sites]
        chosen = same[0] if same else (dests[0] if dests else None)
        return chosen.path.rstrip("\\/") if chosen else None

    def rule_text(self, text: str, findings: Sequence[Finding]) -> str:
        """The rule's remediation with the estate's destination, export share and the pool,
        share or server at fault where the findings name just one."""
        at_fault = [f for f in findings if f.status in (*FIXABLE, Status.ERROR)]
        dest = self._destination(at_fault)
        if dest:
            text = _DESTINATION.sub(lambda _: dest, text)
        share = self.inventory.export_share
        if share is not None:
            text = _EXPORT_SHARE.sub(lambda _: share.unc.rstrip("\\/"), text)
        pool = _only([f.subject.pool for f in at_fault])
        if pool:
            text = _POOL.sub(lambda _: pool, text)
        unc = _only([f.subject.name for f in at_fault if f.subject.type is SubjectType.SHARE])
        if unc:
            text = _SHARE.sub(lambda _: unc, text)
        server = _only([f.subject.name for f in at_fault
                        if f.subject.type is SubjectType.SERVER])
        if server:
            text = _SERVER.sub(lambda _: server, text)
        return text

    def has_action(self, rule_id: str) -> bool:
        """An implemented automated action exists for the rule."""
        entry = self.catalogue.rules.get(rule_id)
        return entry is not None and any(self.catalogue.action(a).implemented
                                         for a in entry.actions)

    def for_finding(self, finding: Finding) -> Remedy | None:
        """The step for a failed or partly met finding, with its plan command when an automated
        action exists; None for any other finding or a rule the catalogue does not know."""
        entry = self.catalogue.rules.get(finding.rule_id)
        if finding.status not in FIXABLE or entry is None:
            return None
        s = finding.subject
        names = _Names(name=s.name, instance=s.instance or s.name, host=s.host or "",
                       pool=s.pool or "", site=s.site or "")
        command = (f"auditor remediate plan --rule {finding.rule_id} --subject {_quoted(s.id)}"
                   if self.has_action(finding.rule_id) else "")
        return Remedy(f"{entry.manual.role}: {entry.manual.step.format_map(names)}", command)
