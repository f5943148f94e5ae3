SELECT COUNT(*) AS running FROM sys.dm_exec_requests r WHERE r.database_id = DB_ID(?) AND r.command IN ('BACKUP DATABASE', 'BACKUP LOG')
