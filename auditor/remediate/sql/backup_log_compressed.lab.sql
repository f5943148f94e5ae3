SELECT dbo.lab_backup(?, ?, 'L', true) AS backup_set_id
