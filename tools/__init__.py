"""Developer tools of the auditor project (not shipped in the wheel)."""
