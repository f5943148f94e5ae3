SELECT dbo.lab_backup(?, ?, 'D', true) AS backup_set_id
