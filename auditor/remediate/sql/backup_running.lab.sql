SELECT COUNT(*) AS running FROM lab.running_backups() r WHERE r.database_key = md5(lower(?))
