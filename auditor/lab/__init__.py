"""Local stand-ins for the real back ends: the PostgreSQL msdb lab (cluster, schema, loader,
instance, demo) and the loopback WinRM lab (winrm/)."""
