"""The probe catalogue: the SQL and PowerShell probes the live collectors run."""
