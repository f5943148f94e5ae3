SELECT dbo.lab_backup(?, ?, 'L', false) AS backup_set_id
