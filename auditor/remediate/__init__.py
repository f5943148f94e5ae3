"""Remediation: the actions catalogue, plan, apply, verify and the run record (docs/remediation.md)."""
