"""Local stand-ins for the real back ends: the PostgreSQL msdb lab (cluster, schema, loader with
tables/columns/insert, instance, demo) and the loopback WinRM lab (winrm/)."""
