"""Remediation: actions catalogue, plan, apply, verify, run record (docs/remediation.md)."""
