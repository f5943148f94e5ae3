SELECT dbo.lab_restore_verifyonly(?) AS backup_set_id
