SELECT MAX(b.backup_set_id) AS backup_set_id FROM dbo.backupset b WHERE b.backup_finish_date < ?
