"""Which findings a plan is made for (--rule, --subject, --severity), how the plan names a
finding, and the stable id of an action."""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass

from auditor.findings import Finding
from auditor.remediate.model import FindingRef


@dataclass(frozen=True)
class Selection:
    """--rule, --subject (glob) and --severity; empty means all."""

    rules: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()

    def wants(self, finding: Finding) -> bool:
        """Whether the finding is selected."""
        return ((not self.rules or finding.rule_id.upper() in {r.upper() for r in self.rules})
                and (not self.severities or finding.severity.value in self.severities)
                and (not self.subjects or any(fnmatch.fnmatchcase(finding.subject.id.lower(),
                                                                  s.lower())
                                              for s in self.subjects)))


def ref(finding: Finding) -> FindingRef:
    """A finding as the plan names it."""
    return FindingRef(rule_id=finding.rule_id, subject=finding.subject.id,
                      status=finding.status.value, severity=finding.severity.value,
                      message=finding.message)


def action_id(rule_id: str, subject: str, action: str) -> str:
    """Stable across plans of the same findings."""
    return hashlib.sha256(f"{rule_id}|{subject}|{action}".encode()).hexdigest()[:16]
