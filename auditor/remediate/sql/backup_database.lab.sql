SELECT dbo.lab_backup(?, ?, 'D', false) AS backup_set_id
